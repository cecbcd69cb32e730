"""The register's part of the half-year report (`GET /v1/report`): each figure as the README defines it, built
through the API: a household registered after the period, an exited household, a member who died in it, records
the day before `from` and the day after `to`, another township; and bad input refused with problem+json."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from shared.api.clock import request_time
from tests.support import assert_problem, auth
from tests.unit.test_households_helpers import (
    OFFICE,
    OTHER_TOWNSHIP_VILLAGE,
    VILLAGE,
    household,
    households_app,
    member,
    register,
)

H1 = "/v1/report?from=2020-01-01&to=2020-06-30"
TOWNSHIP, OTHER_TOWNSHIP = VILLAGE[:9], OTHER_TOWNSHIP_VILLAGE[:9]
LINE_2020 = {"line_fen": 450_000, "monitoring_margin_fen": 150_000}


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 4, tzinfo=UTC)  # noon in the district


async def post(client: Any, url: str, body: dict[str, Any], status: int = 201) -> Any:
    r = await client.post(url, json=body, headers=OFFICE)
    assert r.status_code == status, r.text
    return r.json()


async def visit(client: Any, hid: str, rnd: int, on: str, **facts: Any) -> None:
    await post(client, f"/v1/households/{hid}/visits", {"round": rnd, "visited_on": on, "visitor": "王五", **facts})


async def appraise(client: Any, hid: str, grade: str, on: str) -> str:
    body = {"grade": grade, "appraised_on": on, "appraiser": "区住建局"}
    return str((await post(client, f"/v1/households/{hid}/housing-appraisals", body))["id"])


async def renovate(client: Any, hid: str, appraisal: str, on: str) -> None:
    body = {"completed_on": on, "grade": "B", "appraiser": "区住建局"}
    await post(client, f"/v1/households/{hid}/housing-appraisals/{appraisal}/renovation", body)


async def water(client: Any, hid: str, on: str, *problems: str) -> None:
    body = {"checked_on": on, "source": "well" if problems else "piped", "problems": list(problems), "checked_by": "x"}
    await post(client, f"/v1/households/{hid}/water-checks", body)


async def district(app: Any, client: Any) -> dict[str, str]:
    """Four households of 2020: A, D (贾寨镇) and B (温陈街道) registered on 5 January, C (贾寨镇) on 2 July."""
    app.dependency_overrides[request_time] = lambda: at(date(2020, 1, 5))
    head = member("张三", "head", date(1960, 3, 1), seq=1, medical_insured=True, premium_subsidised=True)
    disabled = {"disability_type": "physical", "disability_grade": 1, "disability_certified_on": "2019-12-31"}
    a = household(
        "RP-A",
        VILLAGE,
        {**head, **disabled},
        member("李四", "spouse", date(1962, 7, 9), seq=2, medical_insured=True),
        member("张小明", "son", date(2010, 5, 1), seq=3, school_stage="primary", enrolment="enrolled"),
        member("张小红", "daughter", date(2005, 5, 1), seq=4, school_stage="junior_secondary", enrolment="dropped_out"),
    )
    b = household("RP-B", OTHER_TOWNSHIP_VILLAGE, member("王二", "head", date(1970, 1, 1), seq=5, medical_insured=True))
    d = household("RP-D", VILLAGE, member("赵六", "head", date(1950, 1, 1), seq=6))
    ids = {h["household_code"][-1]: (await register(client, h))["id"] for h in (a, b, d)}
    app.dependency_overrides[request_time] = lambda: at(date(2020, 7, 2))
    ids["C"] = (await register(client, household("RP-C", VILLAGE, member("钱七", "head", date(1955, 1, 1), seq=7))))[
        "id"
    ]
    app.dependency_overrides[request_time] = lambda: at(date(2020, 7, 10))
    return ids


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with households_app(sqlite_url) as (app, client):
        ids = await district(app, client)
        yield app, client, ids


def figure(part: dict[str, Any], key: str, **by: str) -> int | None:
    values = [f["value"] for f in part["figures"] if f["key"] == key and f["by"] == by]
    assert len(values) <= 1, (key, by)
    return values[0] if values else None


async def report(client: Any, query: str = "", headers: dict[str, str] = OFFICE) -> dict[str, Any]:
    r = await client.get(H1 + query, headers=headers)
    assert r.status_code == 200, r.text
    part: dict[str, Any] = r.json()
    return part


async def test_the_roll_counts_households_registered_by_the_end_and_people_alive_then(api: Any) -> None:
    _, client, ids = api
    spouse = next(m for m in (await client.get(f"/v1/households/{ids['A']}", headers=OFFICE)).json()["members"]
                  if m["relationship_to_head"] == "spouse")  # fmt: skip
    await post(
        client, f"/v1/households/{ids['A']}/members/{spouse['id']}/death", {"died_on": "2020-05-01", "source": "x"}
    )
    part = await report(client)
    assert (part["service"], part["area_code"], part["period_from"], part["period_to"]) == (
        "households", "371523", "2020-01-01", "2020-06-30",
    )  # fmt: skip
    assert figure(part, "register.households") == 3  # C was registered after the period
    assert figure(part, "register.households", status="in_poverty") == 3
    assert figure(part, "register.households", status="exited_no_policies") == 0  # a known zero
    assert figure(part, "register.households", township=TOWNSHIP) == 2
    assert figure(part, "register.households", township=OTHER_TOWNSHIP) == 1
    assert figure(part, "register.people") == 5  # A's spouse died before the end
    assert figure(part, "register.people", township=TOWNSHIP) == 4
    assert figure(part, "schooling.students") == 1 and figure(part, "schooling.students", stage="primary") == 1
    assert figure(part, "schooling.dropped_out", stage="junior_secondary") == 1
    assert figure(part, "disability.people", grade="1") == 1 and figure(part, "disability.certified") == 0  # 12-31
    assert (figure(part, "medical.insured"), figure(part, "medical.premium_subsidised")) == (2, 1)


async def test_an_exited_household_stays_on_the_roll_under_its_status(api: Any) -> None:
    _, client, ids = api
    b = ids["B"]
    await client.put("/v1/poverty-lines/2020", json=LINE_2020, headers=OFFICE)
    await post(client, f"/v1/households/{b}/income-records", {"year": 2020, "source": "wages", "amount_fen": 700_000})
    await appraise(client, b, "B", "2020-02-01")
    await water(client, b, "2020-02-01")
    exited = {"status": "exited_receiving_policies", "reason": "两不愁三保障达标"}
    assert (await post(client, f"/v1/households/{b}/status", exited, status=200))["status"] == exited["status"]
    part = await report(client)
    assert figure(part, "register.households") == 3
    assert figure(part, "register.households", status="exited_receiving_policies") == 1
    assert figure(part, "register.households", status="in_poverty") == 2
    assert figure(part, "register.people", status="exited_receiving_policies") == 1
    # only B's income is held for 2020: the average is B's, the others' unknown income is not counted as zero
    assert figure(part, "income.households_held", year="2020") == 1
    assert figure(part, "income.per_capita_average", year="2020") == 700_000


async def test_no_income_held_means_no_average(api: Any) -> None:
    _, client, _ = api
    part = await report(client)
    assert figure(part, "income.households_held", year="2020") == 0
    assert figure(part, "income.per_capita_average", year="2020") is None


async def test_visits_count_households_per_round_within_the_period(api: Any) -> None:
    _, client, ids = api
    await visit(client, ids["A"], 1, "2020-04-01")
    await visit(client, ids["A"], 1, "2020-04-02")  # the same household twice in a round: once
    await visit(client, ids["A"], 2, "2020-05-12", housing_grade="D")  # found a D house: a problem
    await visit(client, ids["B"], 1, "2019-12-31")  # the day before `from`
    await visit(client, ids["B"], 2, "2020-06-30")  # the last day
    await visit(client, ids["D"], 3, "2020-07-01")  # the day after `to`
    await visit(client, ids["C"], 2, "2020-06-01")  # C was not on the roll yet at the end
    part = await report(client)
    assert figure(part, "visits.households") == 2
    assert (figure(part, "visits.households", round="1"), figure(part, "visits.households", round="2")) == (1, 2)
    assert figure(part, "visits.households", round="3") is None
    assert figure(part, "visits.coverage", round="2") == 6666  # 2 of 3 households, rounded down
    assert figure(part, "visits.problems", category="housing") == 1


async def test_housing_appraised_renovated_and_outstanding(api: Any) -> None:
    _, client, ids = api
    a_d = await appraise(client, ids["A"], "D", "2020-03-01")
    await renovate(client, ids["A"], a_d, "2020-06-20")  # renovated in the period: no longer outstanding
    d_c = await appraise(client, ids["D"], "C", "2020-03-01")
    await renovate(client, ids["D"], d_c, "2020-07-05")  # renovated after the end: outstanding at it
    await appraise(client, ids["B"], "C", "2020-07-01")  # appraised the day after `to`
    part = await report(client)
    assert [figure(part, "housing.appraised", grade=g) for g in "CD"] == [1, 1]
    assert [figure(part, "housing.renovated", grade=g) for g in "CD"] == [0, 1]
    assert [figure(part, "housing.outstanding", grade=g) for g in "CD"] == [1, 0]
    assert figure(part, "housing.outstanding") == 1


async def test_a_household_appraised_twice_counts_once_under_its_worst_grade(api: Any) -> None:
    _, client, ids = api
    await appraise(client, ids["A"], "C", "2020-02-01")
    await appraise(client, ids["A"], "D", "2020-03-01")
    part = await report(client)
    assert [figure(part, "housing.appraised", grade=g) for g in "CD"] == [0, 1]
    assert figure(part, "housing.outstanding", grade="D") == 1


async def test_water_checks_and_monitoring(api: Any) -> None:
    _, client, ids = api
    await water(client, ids["A"], "2020-04-01", "excess_fluoride")
    await water(client, ids["B"], "2020-02-01")
    await water(client, ids["D"], "2019-12-31")  # before the period: not checked in it, but safe at its end
    flag = {"kind": "disaster", "detail": "暴雨冲毁院墙", "raised_on": "2020-06-01"}
    await post(client, f"/v1/households/{ids['D']}/risk-flags", flag)
    part = await report(client)
    assert (figure(part, "water.checked"), figure(part, "water.unsafe")) == (2, 1)
    assert (figure(part, "monitoring.households"), figure(part, "monitoring.opened")) == (1, 1)
    assert figure(part, "monitoring.closed") == 0


async def test_a_township_sees_its_own_figures_only(api: Any) -> None:
    _, client, _ = api
    mine = auth("township_office", area=TOWNSHIP)
    part = await report(client, headers=mine)
    assert part["area_code"] == TOWNSHIP and figure(part, "register.households") == 2
    village = await report(client, f"&area_code={VILLAGE}")
    assert figure(village, "register.households") == 2
    assert_problem(await client.get(f"{H1}&area_code={OTHER_TOWNSHIP}", headers=mine), 403)


@pytest.mark.parametrize(
    "query",
    [
        "/v1/report?from=2020-07-01&to=2020-06-30",  # reversed
        "/v1/report?from=2020-01-01&to=2021-01-01",  # 367 days
        "/v1/report?from=2020-01-01",  # no end
        "/v1/report?from=2020-13-01&to=2020-06-30",  # no such day
        f"{H1}&area_code=3715",  # not an area code
        f"{H1}&area_code=110101",  # another district
    ],
)
async def test_bad_input_is_refused_with_a_problem(api: Any, query: str) -> None:
    _, client, _ = api
    assert_problem(await client.get(query, headers=OFFICE), 422)


async def test_who_may_read_it(api: Any) -> None:
    _, client, _ = api
    assert_problem(await client.get(H1, headers=auth("helper_cadre", area=VILLAGE)), 403)
    assert_problem(await client.get(H1), 401)

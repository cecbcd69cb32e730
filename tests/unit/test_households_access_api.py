"""Area scope, helper-cadre assignment, lists with filters and cursors, history pages and statistics."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from shared.api.pagination import encode_cursor
from shared.timeutil import district_today
from tests.support import assert_problem, auth
from tests.unit.test_households_helpers import (
    OFFICE,
    OTHER_TOWNSHIP_VILLAGE,
    OTHER_VILLAGE,
    VILLAGE,
    event_types,
    household,
    households_app,
    make_id,
    member,
    register,
)

TOWNSHIP = "371523101"
TODAY = str(district_today())


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with households_app(sqlite_url) as running:
        yield running


async def five(client: Any) -> dict[str, str]:
    """CP-1, CP-2 in VILLAGE; CP-3 in OTHER_VILLAGE; CP-4, CP-5 in another township."""
    areas = [VILLAGE, VILLAGE, OTHER_VILLAGE, OTHER_TOWNSHIP_VILLAGE, OTHER_TOWNSHIP_VILLAGE]
    ids = {}
    for n, area in enumerate(areas, start=1):
        body = household(f"CP-{n}", area, member(f"户主{n}", "head", date(1960, 1, n), seq=n, medical_insured=n != 2))
        ids[f"CP-{n}"] = (await register(client, body))["id"]
    return ids


async def codes(client: Any, query: str, headers: dict[str, str] = OFFICE) -> list[str]:
    r = await client.get(f"/v1/households{query}", headers=headers)
    assert r.status_code == 200, r.text
    return [h["household_code"] for h in r.json()["items"]]


async def test_cursor_pages_walk_every_household_once(api: Any) -> None:
    _, client = api
    await five(client)
    seen, cursor = [], None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(f"/v1/households{query}", headers=OFFICE)).json()
        seen += [h["household_code"] for h in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["CP-1", "CP-2", "CP-3", "CP-4", "CP-5"]
    assert_problem(await client.get("/v1/households?cursor=garbage", headers=OFFICE), 422)


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/v1/households", [7]),
        ("/v1/households/{hid}/history", [10**30]),
        ("/v1/households/{hid}/history", [True]),
        ("/v1/monitoring-episodes", ["2020-01-01", 5]),
        ("/v1/monitoring-episodes", [["2020-01-01"], "x"]),
    ],
)
async def test_a_crafted_cursor_is_a_problem_not_a_crash(api: Any, path: str, key: list[Any]) -> None:
    _, client = api
    hid = (await five(client))["CP-1"]
    cursor = encode_cursor(key)
    assert_problem(await client.get(path.format(hid=hid), params={"cursor": cursor}, headers=OFFICE), 422)


async def test_officers_see_only_their_area(api: Any) -> None:
    _, client = api
    ids = await five(client)
    township, village = auth("township_office", area=TOWNSHIP), auth("village_cadre", area=VILLAGE)
    assert await codes(client, "", township) == ["CP-1", "CP-2", "CP-3"]
    assert await codes(client, "", village) == ["CP-1", "CP-2"]
    assert await codes(client, f"?area_code={OTHER_VILLAGE}", township) == ["CP-3"]
    assert_problem(await client.get(f"/v1/households?area_code={OTHER_TOWNSHIP_VILLAGE}", headers=township), 403)
    assert_problem(await client.get(f"/v1/households/{ids['CP-3']}", headers=village), 403)
    body = {"round": 1, "visited_on": "2020-04-01", "visitor": "x"}
    assert_problem(await client.post(f"/v1/households/{ids['CP-4']}/visits", json=body, headers=township), 403)
    assert_problem(await client.get("/v1/households", headers=auth("dept_health")), 403)


async def test_filters_by_status_gap_policy_and_monitoring(api: Any) -> None:
    _, client = api
    ids = await five(client)
    appraisal = {"grade": "A", "appraised_on": "2020-03-01", "appraiser": "x"}
    for code in ("CP-1", "CP-2", "CP-3"):
        await client.post(f"/v1/households/{ids[code]}/housing-appraisals", json=appraisal, headers=OFFICE)
    disabled = {"disability_type": "physical", "disability_grade": 1, "disability_certified_on": "2020-01-01"}
    mid = (await client.get(f"/v1/households/{ids['CP-3']}", headers=OFFICE)).json()["members"][0]["id"]
    await client.patch(f"/v1/households/{ids['CP-3']}/members/{mid}", json=disabled, headers=OFFICE)  # flags risk
    flag = {"kind": "job_loss", "detail": "务工返乡", "raised_on": TODAY}
    await client.post(f"/v1/households/{ids['CP-5']}/risk-flags", json=flag, headers=OFFICE)
    assert await codes(client, "?gap=housing") == ["CP-4", "CP-5"]
    assert await codes(client, "?gap=medical") == ["CP-2"]
    assert await codes(client, "?policy=disability") == ["CP-3"]
    assert await codes(client, "?under_monitoring=true") == ["CP-3", "CP-5"]
    assert await codes(client, "?risk_flag=job_loss") == ["CP-5"]
    assert await codes(client, "?status=in_poverty&area_code=371523105") == ["CP-4", "CP-5"]
    assert await codes(client, "?minimum_allowance=dibao") == []
    assert_problem(await client.get("/v1/households?gap=happiness", headers=OFFICE), 422)


async def test_filters_by_each_policy_a_member_holds_and_by_the_allowance(api: Any) -> None:
    _, client = api
    ids = await five(client)

    async def change_head(code: str, facts: dict[str, Any]) -> None:
        mid = (await client.get(f"/v1/households/{ids[code]}", headers=OFFICE)).json()["members"][0]["id"]
        r = await client.patch(f"/v1/households/{ids[code]}/members/{mid}", json=facts, headers=OFFICE)
        assert r.status_code == 200, r.text

    await change_head("CP-1", {"chronic_disease": "高血压", "chronic_disease_approved_on": "2020-04-01"})
    await change_head("CP-3", {"premium_subsidised": True})
    pupil = member(
        "户小明", "son", date(district_today().year - 9, 9, 1), seq=9, medical_insured=True, enrolment="enrolled"
    )
    assert (await client.post(f"/v1/households/{ids['CP-4']}/members", json=pupil, headers=OFFICE)).status_code == 201
    dibao = [{"id_number": make_id(date(1960, 1, 5), 5), "status": "dibao", "effective_on": "2020-03-01"}]
    civil_affairs = {**auth("dept_civil_affairs"), "Idempotency-Key": "dibao-1"}
    r = await client.post("/v1/department-data/minimum_allowance", json={"rows": dibao}, headers=civil_affairs)
    assert r.json()["applied_count"] == 1, r.text
    assert await codes(client, "?policy=chronic_disease") == ["CP-1"]
    assert await codes(client, "?policy=premium_subsidised") == ["CP-3"]
    assert await codes(client, "?policy=student") == ["CP-4"]
    assert await codes(client, "?minimum_allowance=dibao") == ["CP-5"]
    assert await codes(client, "?policy=student&area_code=371523101") == []


async def test_a_helper_cadre_reaches_assigned_and_unassigned_households_only(api: Any) -> None:
    _, client = api
    ids = await five(client)
    cadres = {}
    for subject in ("cadre-a", "cadre-b"):
        body = {"subject": subject, "name": subject, "unit": "区财政局", "area_code": TOWNSHIP}
        r = await client.post("/v1/helper-cadres", json=body, headers=OFFICE)
        assert r.status_code == 201, r.text
        cadres[subject] = r.json()["id"]
    for code, subject in (("CP-1", "cadre-a"), ("CP-2", "cadre-b")):
        r = await client.put(
            f"/v1/households/{ids[code]}/helper-cadre", json={"helper_cadre_id": cadres[subject]}, headers=OFFICE
        )
        assert r.status_code == 200 and r.json()["helper_cadre_id"] == cadres[subject]
    a = auth("helper_cadre", area=TOWNSHIP, sub="cadre-a")
    assert await codes(client, "", a) == ["CP-1", "CP-3"]
    assert_problem(await client.get(f"/v1/households/{ids['CP-2']}", headers=a), 403)
    visit = {"round": 3, "visited_on": "2020-05-25", "visitor": "cadre-a"}
    assert_problem(await client.post(f"/v1/households/{ids['CP-2']}/visits", json=visit, headers=a), 403)
    assert (await client.post(f"/v1/households/{ids['CP-1']}/visits", json=visit, headers=a)).status_code == 201
    far = await client.put(
        f"/v1/households/{ids['CP-4']}/helper-cadre", json={"helper_cadre_id": cadres["cadre-a"]}, headers=OFFICE
    )
    assert_problem(far, 409)
    dup = {"subject": "cadre-a", "name": "x", "unit": "x", "area_code": TOWNSHIP}
    assert_problem(await client.post("/v1/helper-cadres", json=dup, headers=OFFICE), 409)
    listed = (await client.get("/v1/helper-cadres", headers=auth("township_office", area=TOWNSHIP))).json()
    assert len(listed["items"]) == 2 and listed["next_cursor"] is None


async def test_history_pages_follow_the_cursor(api: Any) -> None:
    _, client = api
    hid = (await register(client, household("CP-1")))["id"]
    for n in range(1, 4):
        await client.post(
            f"/v1/households/{hid}/visits",
            json={"round": n, "visited_on": "2020-05-01", "visitor": "x"},
            headers=OFFICE,
        )
    first = (await client.get(f"/v1/households/{hid}/history?limit=3", headers=OFFICE)).json()
    rest = (await client.get(f"/v1/households/{hid}/history?cursor={first['next_cursor']}", headers=OFFICE)).json()
    actions = [c["action"] for c in first["items"] + rest["items"]]
    assert actions == ["household.registered", "visit.recorded", "visit.recorded", "visit.recorded"]
    assert rest["next_cursor"] is None
    visits = (await client.get(f"/v1/households/{hid}/visits", headers=OFFICE)).json()["items"]
    assert [(v["round"], v["problems"]) for v in visits] == [(1, []), (2, []), (3, [])]


async def test_statistics_break_an_area_down_one_level(api: Any) -> None:
    _, client = api
    ids = await five(client)
    d = {"grade": "D", "appraised_on": "2020-03-01", "appraiser": "x"}
    renovated = (await client.post(f"/v1/households/{ids['CP-1']}/housing-appraisals", json=d, headers=OFFICE)).json()
    await client.post(
        f"/v1/households/{ids['CP-1']}/housing-appraisals/{renovated['id']}/renovation",
        json={"completed_on": "2020-05-01", "grade": "B", "appraiser": "x"},
        headers=OFFICE,
    )
    await client.post(f"/v1/households/{ids['CP-2']}/housing-appraisals", json={**d, "grade": "C"}, headers=OFFICE)
    for code, rnd in (("CP-1", 1), ("CP-2", 1), ("CP-4", 2)):
        await client.post(
            f"/v1/households/{ids[code]}/visits",
            json={"round": rnd, "visited_on": "2020-04-01", "visitor": "x"},
            headers=OFFICE,
        )
    water = {"checked_on": "2020-04-01", "source": "well", "problems": ["excess_fluoride"], "checked_by": "x"}
    await client.post(f"/v1/households/{ids['CP-3']}/water-checks", json=water, headers=OFFICE)
    await client.post(
        f"/v1/households/{ids['CP-3']}/risk-flags",
        json={"kind": "disaster", "detail": "x", "raised_on": TODAY},
        headers=OFFICE,
    )
    await client.put("/v1/poverty-lines/2020", json={"line_fen": 450_000, "monitoring_margin_fen": 0}, headers=OFFICE)
    await client.post(
        f"/v1/households/{ids['CP-4']}/income-records",
        json={"year": 2020, "source": "wages", "amount_fen": 450_000},
        headers=OFFICE,
    )

    stats = (await client.get("/v1/statistics?year=2020", headers=OFFICE)).json()
    assert stats["level"] == "district" and stats["area_code"] == "371523"
    assert [(p["area_code"], p["name"], p["households"]) for p in stats["parts"]] == [
        ("371523101", "贾寨镇", 3),
        ("371523105", "温陈街道", 2),
    ]
    total = stats["total"]
    assert total["households_by_status"] == {"in_poverty": 5} and total["people"] == 5
    assert total["gaps"] == {"housing": 4, "water": 5, "medical": 1, "income": 4}  # CP-1 renovated to B
    assert (total["housing_cd_outstanding"], total["housing_cd_renovated"]) == (1, 1)
    assert total["housing_cd_overdue"] == 1  # the C house's 90 days ran out in 2020
    assert total["visits_by_round"] == {"1": 2, "2": 1} and total["under_monitoring"] == 1
    next_year = (await client.get("/v1/statistics?year=2021", headers=OFFICE)).json()["total"]
    assert next_year["visits_by_round"] == {}  # 2020's rounds are 2020's

    township = auth("township_office", area=TOWNSHIP)
    mine = (await client.get("/v1/statistics?year=2020", headers=township)).json()
    assert mine["level"] == "township" and [p["area_code"] for p in mine["parts"]] == [VILLAGE, OTHER_VILLAGE]
    assert_problem(await client.get("/v1/statistics?area_code=371523105", headers=township), 403)
    assert_problem(await client.get("/v1/statistics", headers=auth("helper_cadre", area=VILLAGE)), 403)
    assert_problem(await client.get("/v1/statistics?area_code=3715", headers=OFFICE), 422)
    assert_problem(await client.get("/v1/statistics?area_code=110101", headers=OFFICE), 422)  # another district


async def test_statistics_count_a_house_as_unsafe_by_its_latest_appraisal_only(api: Any) -> None:
    _, client = api
    ids = await five(client)
    for code, grades in (("CP-1", ("D", "C")), ("CP-2", ("C", "B"))):
        for grade, on in zip(grades, ("2020-03-01", "2020-06-01"), strict=True):
            appraisal = {"grade": grade, "appraised_on": on, "appraiser": "x"}
            r = await client.post(f"/v1/households/{ids[code]}/housing-appraisals", json=appraisal, headers=OFFICE)
            assert r.status_code == 201, r.text
    total = (await client.get("/v1/statistics?year=2020", headers=OFFICE)).json()["total"]
    assert (total["housing_cd_outstanding"], total["housing_cd_overdue"], total["housing_cd_renovated"]) == (1, 1, 0)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/households?area_code=371523999201",  # a village of no township of the district
        "/v1/households?area_code=110101",  # another district
        "/v1/monitoring-episodes?area_code=371523999",
        "/v1/helper-cadres?area_code=110101",
        "/v1/statistics?area_code=110101",
    ],
)
async def test_a_list_filtered_by_an_area_outside_the_district_is_refused_naming_the_field(api: Any, path: str) -> None:
    _, client = api
    await five(client)  # an empty answer would look like an area without households
    body = assert_problem(await client.get(path, headers=OFFICE), 422)
    assert [e["field"] for e in body["errors"]] == ["query.area_code"]
    township = auth("township_office", area=TOWNSHIP)  # the district is checked before the caller's reach
    assert_problem(await client.get(path, headers=township), 422)


@pytest.mark.parametrize("path", ["/v1/households", "/v1/monitoring-episodes", "/v1/helper-cadres", "/v1/statistics"])
async def test_a_list_filtered_by_the_district_or_a_known_area_answers(api: Any, path: str) -> None:
    _, client = api
    for area in ("371523", TOWNSHIP, VILLAGE):
        r = await client.get(path, params={"area_code": area}, headers=OFFICE)
        assert r.status_code == 200, r.text


async def test_monitoring_episodes_are_listed_within_the_callers_reach(api: Any) -> None:
    _, client = api
    ids = await five(client)
    flag = {"kind": "disaster", "detail": "冰雹", "raised_on": TODAY}
    for code in ("CP-1", "CP-3", "CP-4"):
        assert (
            await client.post(f"/v1/households/{ids[code]}/risk-flags", json=flag, headers=OFFICE)
        ).status_code == 201

    async def listed(headers: dict[str, str], query: str = "") -> set[str]:
        r = await client.get(f"/v1/monitoring-episodes{query}", headers=headers)
        assert r.status_code == 200, r.text
        return {e["household_id"] for e in r.json()["items"]}

    assert await listed(OFFICE) == {ids["CP-1"], ids["CP-3"], ids["CP-4"]}
    assert await listed(auth("township_office", area=TOWNSHIP)) == {ids["CP-1"], ids["CP-3"]}
    assert await listed(auth("village_cadre", area=VILLAGE)) == {ids["CP-1"]}
    other_township = auth("township_office", area=TOWNSHIP)
    assert_problem(
        await client.get(f"/v1/monitoring-episodes?area_code={OTHER_TOWNSHIP_VILLAGE}", headers=other_township), 403
    )


async def test_a_household_moved_out_of_its_cadres_area_is_unassigned(api: Any) -> None:
    app, client = api
    ids = await five(client)
    body = {"subject": "cadre-a", "name": "赵六", "unit": "区财政局", "area_code": TOWNSHIP}
    cadre = (await client.post("/v1/helper-cadres", json=body, headers=OFFICE)).json()["id"]
    for code in ("CP-1", "CP-2"):
        assigned = {"helper_cadre_id": cadre}
        assert (
            await client.put(f"/v1/households/{ids[code]}/helper-cadre", json=assigned, headers=OFFICE)
        ).status_code == 200
    within = await client.patch(f"/v1/households/{ids['CP-2']}", json={"area_code": OTHER_VILLAGE}, headers=OFFICE)
    assert within.json()["helper_cadre_id"] == cadre  # another village of the cadre's township: still theirs
    moved = await client.patch(
        f"/v1/households/{ids['CP-1']}", json={"area_code": OTHER_TOWNSHIP_VILLAGE}, headers=OFFICE
    )
    assert moved.status_code == 200 and moved.json()["helper_cadre_id"] is None
    published = [t.split(".")[3] for t in await event_types(app)]
    assert published[-2:] == ["household_updated", "helper_cadre_unassigned"]


@pytest.mark.parametrize("spelling", ["{n}", "{a}%20{b}%20{c}", "{a}%2F{b}%2F{c}", "{a}-{b}-{c}"])
async def test_an_id_number_put_where_an_id_belongs_is_not_echoed(api: Any, spelling: str) -> None:
    _, client = api
    number = make_id(date(1979, 12, 24), 7)
    path_part = spelling.format(n=number, a=number[:6], b=number[6:14], c=number[14:])
    r = await client.get(f"/v1/households/{path_part}", headers=OFFICE)
    body = assert_problem(r, 404 if "%2F" in spelling else 422)  # an encoded slash is a path of its own
    assert body["instance"] in ("/v1/households/(redacted)", "(redacted)")
    assert number[6:14] not in r.text

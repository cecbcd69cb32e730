"""The lifecycle, the three guarantees, water, income and relapse-risk monitoring over HTTP."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from services.households.models import Household, MonitoringEpisode
from shared.timeutil import district_today
from tests.support import assert_problem, auth
from tests.unit.test_households_helpers import (
    OFFICE,
    VILLAGE,
    count,
    event_types,
    household,
    households_app,
    member,
    outbox,
    register,
)

LINE_2020 = {"line_fen": 450_000, "monitoring_margin_fen": 150_000}  # 4,500 yuan per person (the report)
CHILD_BORN = date(district_today().year - 10, 5, 1)
TODAY = str(district_today())


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with households_app(sqlite_url) as running:
        yield running


async def post(client: Any, url: str, body: dict[str, Any], status: int = 201, headers: dict[str, str] = OFFICE) -> Any:
    r = await client.post(url, json=body, headers=headers)
    assert r.status_code == status, r.text
    return r.json()


async def family(client: Any, code: str = "CP-0001") -> str:
    """A household of three: two insured adults and an enrolled child."""
    body = household(
        code,
        VILLAGE,
        member("张三", "head", date(1960, 3, 1), seq=1, medical_insured=True),
        member("李四", "spouse", date(1962, 7, 9), seq=2, medical_insured=True),
        member("张小明", "son", CHILD_BORN, seq=3, medical_insured=True, enrolment="enrolled"),
    )
    return str((await register(client, body))["id"])


async def meet_the_standard(client: Any, hid: str, income_fen: int = 3 * 700_000) -> None:
    r = await client.put("/v1/poverty-lines/2020", json=LINE_2020, headers=OFFICE)
    assert r.status_code == 200, r.text
    year = district_today().year
    r = await client.put(f"/v1/poverty-lines/{year}", json=LINE_2020, headers=OFFICE)
    assert r.status_code == 200, r.text
    await post(
        client, f"/v1/households/{hid}/income-records", {"year": year, "source": "wages", "amount_fen": income_fen}
    )
    appraisal = {"grade": "B", "appraised_on": "2020-03-01", "appraiser": "区住建局"}
    await post(client, f"/v1/households/{hid}/housing-appraisals", appraisal)
    water = {"checked_on": "2020-04-01", "source": "piped", "checked_by": "区水利局"}
    await post(client, f"/v1/households/{hid}/water-checks", water)


async def status_of(client: Any, hid: str) -> str:
    return str((await client.get(f"/v1/households/{hid}", headers=OFFICE)).json()["status"])


async def exit_poverty(client: Any, hid: str) -> Any:
    body = {"status": "exited_receiving_policies", "reason": "两不愁三保障达标, 人均收入超过贫困线"}
    return await client.post(f"/v1/households/{hid}/status", json=body, headers=OFFICE)


async def test_a_new_household_cannot_leave_poverty_and_is_told_why(api: Any) -> None:
    app, client = api
    hid = await family(client)
    before = await event_types(app)
    problem = assert_problem(await exit_poverty(client, hid), 409)
    assert set(problem["gaps"]) == {"housing_not_appraised", "no_poverty_line", "water_not_checked"}
    assert await status_of(client, hid) == "in_poverty"
    assert await event_types(app) == before


async def test_a_house_graded_unsafe_at_a_visit_blocks_the_exit_and_is_published_once(api: Any) -> None:
    app, client = api
    hid = await family(client)
    await meet_the_standard(client, hid)
    visit = {"round": 3, "visited_on": TODAY, "visitor": "王五", "housing_grade": "D"}
    found = await post(client, f"/v1/households/{hid}/visits", visit)
    assessment = (await client.get(f"/v1/households/{hid}/assessment", headers=OFFICE)).json()
    assert not assessment["can_exit"] and [g["code"] for g in assessment["gaps"]] == ["housing_unsafe"]
    assert_problem(await exit_poverty(client, hid), 409)
    [appraisal] = [
        a
        for a in (await client.get(f"/v1/households/{hid}/housing-appraisals", headers=OFFICE)).json()["items"]
        if a["source"] == "visit"
    ]
    assert (appraisal["grade"], appraisal["appraiser"], appraisal["appraised_on"]) == ("D", "王五", TODAY)
    assert appraisal["renovation_due"] is not None
    [problem] = [json.loads(r.payload) for r in await outbox(app) if r.event_type.endswith("problem_found.v1")]
    assert (problem["code"], problem["housing_grade"], problem["visit_id"]) == ("housing_unsafe", "D", found["id"])


async def test_meeting_the_standard_allows_the_exit_and_publishes_it(api: Any) -> None:
    app, client = api
    hid = await family(client)
    await meet_the_standard(client, hid)
    assessment = (await client.get(f"/v1/households/{hid}/assessment", headers=OFFICE)).json()
    assert assessment["can_exit"] and assessment["per_capita_income_fen"] == 700_000
    r = await exit_poverty(client, hid)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "exited_receiving_policies"
    [changed] = [row for row in await outbox(app) if row.event_type.endswith("status_changed.v1")]
    payload = json.loads(changed.payload)
    assert (payload["from_status"], payload["to_status"], payload["reason"]) == (
        "in_poverty",
        "exited_receiving_policies",
        "officer_decision",
    )


async def test_a_backdated_exit_is_judged_on_this_years_income_and_dated_within_this_year(api: Any) -> None:
    _, client = api
    hid = await family(client)
    await meet_the_standard(client, hid, income_fen=3 * 450_000 - 1)  # this year: under the line
    await post(
        client, f"/v1/households/{hid}/income-records", {"year": 2020, "source": "wages", "amount_fen": 3_000_000}
    )
    body = {"status": "exited_receiving_policies", "reason": "x", "effective_on": "2020-12-31"}
    assert_problem(await client.post(f"/v1/households/{hid}/status", json=body, headers=OFFICE), 422)
    body["effective_on"] = TODAY
    assert (
        "income_below_line"
        in assert_problem(await client.post(f"/v1/households/{hid}/status", json=body, headers=OFFICE), 409)["gaps"]
    )
    assert await status_of(client, hid) == "in_poverty"


async def test_a_status_change_cannot_take_effect_before_the_last_one(api: Any) -> None:
    _, client = api
    hid = await family(client)
    await meet_the_standard(client, hid)
    assert (await exit_poverty(client, hid)).status_code == 200
    today = district_today()
    if today.month == 1 and today.day == 1:
        pytest.skip("no earlier day in this year to backdate to")
    body = {"status": "exited_no_policies", "reason": "x", "effective_on": str(date(today.year, 1, 1))}
    problem = assert_problem(await client.post(f"/v1/households/{hid}/status", json=body, headers=OFFICE), 409)
    assert "last" in problem["detail"]
    assert await status_of(client, hid) == "exited_receiving_policies"


@pytest.mark.parametrize(
    ("spoil", "gap"),
    [
        ("income", "income_below_line"),
        ("house", "housing_unsafe"),
        ("water", "unsafe_water"),
        ("dropout", "school_dropout"),
        ("insurance", "no_medical_insurance"),
    ],
)
async def test_each_unmet_guarantee_blocks_the_exit(api: Any, spoil: str, gap: str) -> None:
    _, client = api
    hid = await family(client)
    await meet_the_standard(client, hid, income_fen=3 * 450_000 - 1 if spoil == "income" else 3 * 700_000)
    members = {
        m["name"]: m["id"] for m in (await client.get(f"/v1/households/{hid}", headers=OFFICE)).json()["members"]
    }
    if spoil == "house":
        await post(
            client,
            f"/v1/households/{hid}/housing-appraisals",
            {"grade": "D", "appraised_on": "2020-05-01", "appraiser": "x"},
        )
    elif spoil == "water":
        check = {"checked_on": "2020-05-01", "source": "well", "problems": ["excess_fluoride"], "checked_by": "x"}
        await post(client, f"/v1/households/{hid}/water-checks", check)
    elif spoil == "dropout":
        r = await client.patch(
            f"/v1/households/{hid}/members/{members['张小明']}", json={"enrolment": "dropped_out"}, headers=OFFICE
        )
        assert r.status_code == 200, r.text
    elif spoil == "insurance":
        r = await client.patch(
            f"/v1/households/{hid}/members/{members['李四']}", json={"medical_insured": False}, headers=OFFICE
        )
        assert r.status_code == 200, r.text
    assert gap in assert_problem(await exit_poverty(client, hid), 409)["gaps"]
    assert await status_of(client, hid) == "in_poverty"


async def test_unsafe_findings_are_published_for_audit(api: Any) -> None:
    app, client = api
    hid = await family(client)
    await post(
        client,
        f"/v1/households/{hid}/housing-appraisals",
        {"grade": "C", "appraised_on": "2020-05-01", "appraiser": "x"},
    )
    check = {"checked_on": "2020-05-02", "source": "well", "problems": ["excess_fluoride"], "checked_by": "x"}
    await post(client, f"/v1/households/{hid}/water-checks", check)
    members = (await client.get(f"/v1/households/{hid}", headers=OFFICE)).json()["members"]
    child = next(m for m in members if m["name"] == "张小明")
    await client.patch(f"/v1/households/{hid}/members/{child['id']}", json={"enrolment": "dropped_out"}, headers=OFFICE)
    problems = [json.loads(r.payload) for r in await outbox(app) if r.event_type.endswith("problem_found.v1")]
    assert sorted(p["code"] for p in problems) == ["housing_unsafe", "school_dropout", "unsafe_water"]
    housing = next(p for p in problems if p["code"] == "housing_unsafe")
    assert housing["housing_grade"] == "C" and housing["visit_id"] is None and housing["category"] == "housing"
    checks = (await client.get(f"/v1/households/{hid}/water-checks", headers=OFFICE)).json()["items"]
    assert [(c["safe"], c["problems"]) for c in checks] == [(False, ["excess_fluoride"])]
    assert (await client.get(f"/v1/households/{hid}", headers=OFFICE)).json()["water_safe"] is False


async def test_renovating_a_d_house_regrades_it(api: Any) -> None:
    _, client = api
    hid = await family(client)
    d = await post(
        client,
        f"/v1/households/{hid}/housing-appraisals",
        {"grade": "D", "appraised_on": "2020-03-01", "appraiser": "x"},
    )
    assert d["renovation_due"] == "2020-05-30"  # the default 90 days
    renovation = {"completed_on": "2020-06-20", "grade": "A", "appraiser": "区住建局"}
    new = await post(client, f"/v1/households/{hid}/housing-appraisals/{d['id']}/renovation", renovation)
    assert new["grade"] == "A" and new["source"] == "renovation"
    assert (await client.get(f"/v1/households/{hid}", headers=OFFICE)).json()["housing_grade"] == "A"
    listed = (await client.get(f"/v1/households/{hid}/housing-appraisals", headers=OFFICE)).json()["items"]
    assert [(a["grade"], a["renovated_on"]) for a in listed] == [("D", "2020-06-20"), ("A", None)]
    again = await client.post(
        f"/v1/households/{hid}/housing-appraisals/{d['id']}/renovation", json=renovation, headers=OFFICE
    )
    assert_problem(again, 409)
    early = {**renovation, "completed_on": "2020-01-01"}
    other = await post(
        client,
        f"/v1/households/{hid}/housing-appraisals",
        {"grade": "C", "appraised_on": "2020-06-21", "appraiser": "x"},
    )
    assert_problem(
        await client.post(
            f"/v1/households/{hid}/housing-appraisals/{other['id']}/renovation", json=early, headers=OFFICE
        ),
        422,
    )


async def test_a_relapse_risk_flag_monitors_an_exited_household_until_risk_is_eliminated(api: Any) -> None:
    app, client = api
    hid = await family(client)
    await meet_the_standard(client, hid)
    assert (await exit_poverty(client, hid)).status_code == 200
    flag = {"kind": "disaster", "detail": "暴雨冲毁房屋院墙", "raised_on": TODAY}
    episode = await post(client, f"/v1/households/{hid}/risk-flags", flag, headers=auth("helper_cadre", area=VILLAGE))
    assert await status_of(client, hid) == "monitored"
    assert [f["kind"] for f in episode["flags"]] == ["disaster"]
    problems = [json.loads(r.payload) for r in await outbox(app) if r.event_type.endswith("problem_found.v1")]
    assert [(p["category"], p["code"]) for p in problems] == [("income", "relapse_risk_disaster")]
    blocked = await client.post(
        f"/v1/households/{hid}/status", json={"status": "exited_no_policies", "reason": "x"}, headers=OFFICE
    )
    assert_problem(blocked, 409)
    close = {"decision": "risk_eliminated", "evidence": "院墙已修复, 收入稳定", "closed_on": TODAY}
    url = f"/v1/monitoring-episodes/{episode['id']}"
    assert "measure" in assert_problem(await client.post(f"{url}/close", json=close, headers=OFFICE), 409)["detail"]
    measure = {"kind": "temporary_assistance", "description": "临时救助 2000 元", "taken_on": TODAY}
    await post(client, f"{url}/measures", measure, headers=auth("helper_cadre", area=VILLAGE))
    assert_problem(await client.post(f"{url}/close", json=close, headers=auth("helper_cadre", area=VILLAGE)), 403)
    closed = await post(client, f"{url}/close", close, status=200)
    assert closed["status"] == "closed" and closed["decision"] == "risk_eliminated"
    assert await status_of(client, hid) == "exited_receiving_policies"
    assert_problem(await client.post(f"{url}/measures", json=measure, headers=OFFICE), 409)


async def test_income_under_line_plus_margin_flags_once_and_must_recover_before_closing(api: Any) -> None:
    app, client = api
    hid = await family(client)
    await meet_the_standard(client, hid, income_fen=3 * 500_000)  # above the line, under line + margin
    assert (await exit_poverty(client, hid)).status_code == 200
    year = district_today().year
    await post(client, f"/v1/households/{hid}/income-records", {"year": year, "source": "subsidies", "amount_fen": 1})
    assert await status_of(client, hid) == "monitored"
    await post(client, f"/v1/households/{hid}/income-records", {"year": year, "source": "subsidies", "amount_fen": 1})
    [episode] = (await client.get(f"/v1/households/{hid}/monitoring-episodes", headers=OFFICE)).json()["items"]
    assert [f["kind"] for f in episode["flags"]] == ["income_below_margin"]  # not flagged twice
    url = f"/v1/monitoring-episodes/{episode['id']}"
    await post(
        client,
        f"{url}/measures",
        {"kind": "public_welfare_job", "description": "公益岗", "taken_on": str(district_today())},
    )
    close = {"decision": "risk_eliminated", "evidence": "公益岗位收入到位", "closed_on": TODAY}
    assert "margin" in assert_problem(await client.post(f"{url}/close", json=close, headers=OFFICE), 409)["detail"]
    await post(
        client, f"/v1/households/{hid}/income-records", {"year": year, "source": "wages", "amount_fen": 3 * 100_000}
    )
    await post(client, f"{url}/close", close, status=200)
    assert await status_of(client, hid) == "exited_receiving_policies"
    assert await count(app, MonitoringEpisode, MonitoringEpisode.status == "open") == 0


async def test_a_new_member_can_put_an_exited_household_under_line_plus_margin(api: Any) -> None:
    _, client = api
    hid = await family(client)
    await meet_the_standard(client, hid, income_fen=3 * 700_000)  # 7,000 yuan a head: above line + margin
    assert (await exit_poverty(client, hid)).status_code == 200
    newborn = member("张小花", "daughter", date(district_today().year, 1, 2), seq=4, medical_insured=True)
    await post(client, f"/v1/households/{hid}/members", newborn)  # 4 heads: 5,250 yuan, under 6,000
    assert await status_of(client, hid) == "monitored"
    [episode] = (await client.get(f"/v1/households/{hid}/monitoring-episodes", headers=OFFICE)).json()["items"]
    assert [f["kind"] for f in episode["flags"]] == ["income_below_margin"]


async def test_a_certificate_dated_before_the_member_was_born_is_refused_and_changes_nothing(api: Any) -> None:
    app, client = api
    hid = await family(client)
    before = await event_types(app)
    child = member("张小花", "daughter", date(2015, 5, 1), seq=4, medical_insured=True)
    certified = {"disability_type": "physical", "disability_grade": 2, "disability_certified_on": "2001-01-01"}
    refused = await client.post(f"/v1/households/{hid}/members", json={**child, **certified}, headers=OFFICE)
    assert "before the member was born" in assert_problem(refused, 422)["detail"]
    assert len((await client.get(f"/v1/households/{hid}", headers=OFFICE)).json()["members"]) == 3
    assert await event_types(app) == before


async def test_a_higher_line_or_margin_for_this_year_flags_the_households_now_under_it(api: Any) -> None:
    app, client = api
    exited = await family(client)
    poor = household("CP-0002", VILLAGE, member("王五", "head", date(1958, 1, 4), seq=11, medical_insured=True))
    other = str((await register(client, poor))["id"])
    for hid in (exited, other):
        await meet_the_standard(client, hid, income_fen=3 * 700_000)
    assert (await exit_poverty(client, exited)).status_code == 200
    year = district_today().year
    higher_margin = {**LINE_2020, "monitoring_margin_fen": 300_000}  # line + margin 7,500 yuan
    assert (await client.put(f"/v1/poverty-lines/{year - 1}", json=higher_margin, headers=OFFICE)).status_code == 200
    assert await status_of(client, exited) == "exited_receiving_policies"  # last year's line judges nothing now
    assert (await client.put(f"/v1/poverty-lines/{year}", json=higher_margin, headers=OFFICE)).status_code == 200
    assert (await status_of(client, exited), await status_of(client, other)) == ("monitored", "in_poverty")
    assert await count(app, MonitoringEpisode) == 1  # the household still in poverty is not a relapse risk


async def test_a_backdated_flag_and_closing_are_judged_on_this_years_income_and_dated_in_order(api: Any) -> None:
    app, client = api
    hid = await family(client)
    await meet_the_standard(client, hid, income_fen=3 * 500_000)  # above the line, under line + margin
    year = district_today().year
    await post(
        client, f"/v1/households/{hid}/income-records", {"year": year - 1, "source": "wages", "amount_fen": 3 * 700_000}
    )
    assert (await exit_poverty(client, hid)).status_code == 200
    last_year = f"{year - 1}-03-01"
    flag = {"kind": "job_loss", "detail": "务工返乡", "raised_on": last_year}
    episode = await post(client, f"/v1/households/{hid}/risk-flags", flag)
    await post(client, f"/v1/households/{hid}/income-records", {"year": year, "source": "subsidies", "amount_fen": 1})
    url = f"/v1/monitoring-episodes/{episode['id']}"
    await post(
        client, f"{url}/measures", {"kind": "public_welfare_job", "description": "公益岗", "taken_on": last_year}
    )
    backdated = {"decision": "risk_eliminated", "evidence": "收入恢复证明", "closed_on": f"{year - 1}-06-01"}
    assert "margin" in assert_problem(await client.post(f"{url}/close", json=backdated, headers=OFFICE), 409)["detail"]
    assert await status_of(client, hid) == "monitored"
    changes = [json.loads(r.payload) for r in await outbox(app) if r.event_type.endswith("status_changed.v1")]
    effective = [date.fromisoformat(c["effective_on"]) for c in changes]
    assert [c["to_status"] for c in changes] == ["exited_receiving_policies", "monitored"]
    assert effective == sorted(effective) and effective[-1].year == year


async def test_an_episode_closed_as_relapsed_needs_evidence_of_poverty(api: Any) -> None:
    _, client = api
    hid = await family(client)
    await meet_the_standard(client, hid)
    assert (await exit_poverty(client, hid)).status_code == 200
    episode = await post(
        client, f"/v1/households/{hid}/risk-flags", {"kind": "job_loss", "detail": "务工返乡", "raised_on": TODAY}
    )
    relapse = {"decision": "relapsed", "evidence": "失去务工收入, 住房受损", "closed_on": TODAY}
    assert_problem(
        await client.post(f"/v1/monitoring-episodes/{episode['id']}/close", json=relapse, headers=OFFICE), 409
    )
    assert await status_of(client, hid) == "monitored"
    await post(
        client, f"/v1/households/{hid}/housing-appraisals", {"grade": "D", "appraised_on": TODAY, "appraiser": "x"}
    )
    await post(client, f"/v1/monitoring-episodes/{episode['id']}/close", relapse, status=200)
    assert await status_of(client, hid) == "relapsed"


async def test_an_officer_cannot_make_a_household_monitored_directly(api: Any) -> None:
    _, client = api
    hid = await family(client)
    r = await client.post(f"/v1/households/{hid}/status", json={"status": "monitored", "reason": "x"}, headers=OFFICE)
    assert_problem(r, 409)
    r = await client.post(f"/v1/households/{hid}/status", json={"status": "rich", "reason": "x"}, headers=OFFICE)
    assert_problem(r, 422)


async def test_status_changes_are_for_district_and_township_offices_in_their_area(api: Any) -> None:
    app, client = api
    hid = await family(client)
    await meet_the_standard(client, hid)
    body = {"status": "exited_receiving_policies", "reason": "达标"}
    for headers in (auth("village_cadre", area=VILLAGE), auth("township_office", area="371523105"), auth("auditor")):
        assert_problem(await client.post(f"/v1/households/{hid}/status", json=body, headers=headers), 403)
    assert await count(app, Household, Household.status == "in_poverty") == 1
    ok = await client.post(f"/v1/households/{hid}/status", json=body, headers=auth("township_office", area="371523101"))
    assert ok.status_code == 200, ok.text


async def test_poverty_lines_are_set_by_the_district_only(api: Any) -> None:
    _, client = api
    assert_problem(
        await client.put("/v1/poverty-lines/2020", json=LINE_2020, headers=auth("township_office", area="371523101")),
        403,
    )
    assert_problem(
        await client.put(
            "/v1/poverty-lines/2020", json={"line_fen": 4500.5, "monitoring_margin_fen": 0}, headers=OFFICE
        ),
        422,
    )
    assert_problem(await client.put("/v1/poverty-lines/1999", json=LINE_2020, headers=OFFICE), 422)
    assert (await client.put("/v1/poverty-lines/2020", json=LINE_2020, headers=OFFICE)).status_code == 200
    lines = (await client.get("/v1/poverty-lines", headers=OFFICE)).json()["items"]
    assert [(line["year"], line["line_fen"]) for line in lines] == [(2020, 450_000)]


async def test_income_summary_compares_per_capita_income_with_the_line(api: Any) -> None:
    _, client = api
    hid = await family(client)
    await client.put("/v1/poverty-lines/2020", json=LINE_2020, headers=OFFICE)
    await post(
        client,
        f"/v1/households/{hid}/income-records",
        {"year": 2020, "source": "project_dividends", "amount_fen": 1_000_000},
    )
    await post(client, f"/v1/households/{hid}/income-records", {"year": 2020, "source": "wages", "amount_fen": 350_001})
    summary = (await client.get(f"/v1/households/{hid}/income?year=2020", headers=OFFICE)).json()
    assert summary["per_capita_income_fen"] == 450_000 and summary["below_line"] is False
    assert summary["below_monitoring_threshold"] is True and len(summary["records"]) == 2
    future = {"year": district_today().year + 1, "source": "wages", "amount_fen": 1}
    assert_problem(await client.post(f"/v1/households/{hid}/income-records", json=future, headers=OFFICE), 422)
    negative = {"year": 2020, "source": "wages", "amount_fen": -5}
    assert_problem(await client.post(f"/v1/households/{hid}/income-records", json=negative, headers=OFFICE), 422)


async def test_rule_based_flags_cannot_be_raised_by_hand(api: Any) -> None:
    app, client = api
    hid = await family(client)
    flag = {"kind": "income_below_margin", "detail": "x", "raised_on": TODAY}
    assert_problem(await client.post(f"/v1/households/{hid}/risk-flags", json=flag, headers=OFFICE), 422)
    assert await count(app, MonitoringEpisode) == 0


async def test_every_change_publishes_its_event(api: Any) -> None:
    app, client = api
    seen = len(await event_types(app))

    async def published() -> list[str]:
        nonlocal seen
        types = await event_types(app)
        new, seen = [t.split(".")[3] for t in types[seen:]], len(types)
        return new

    year = district_today().year
    assert (await client.put(f"/v1/poverty-lines/{year}", json=LINE_2020, headers=OFFICE)).status_code == 200
    assert await published() == ["poverty_line_set"]
    hid = await family(client)
    assert (await published())[0] == "household_registered"
    grade_d = {"grade": "D", "appraised_on": "2020-03-01", "appraiser": "区住建局"}
    appraisal = await post(client, f"/v1/households/{hid}/housing-appraisals", grade_d)
    assert await published() == ["housing_appraised", "problem_found"]
    renovation = {"completed_on": "2020-06-20", "grade": "A", "appraiser": "区住建局"}
    await post(client, f"/v1/households/{hid}/housing-appraisals/{appraisal['id']}/renovation", renovation)
    assert await published() == ["housing_renovated"]
    await post(
        client,
        f"/v1/households/{hid}/water-checks",
        {"checked_on": "2020-04-01", "source": "piped", "checked_by": "区水利局"},
    )
    assert await published() == ["water_checked"]
    cadre = {"subject": "cadre-a", "name": "赵六", "unit": "区财政局", "area_code": VILLAGE[:9]}
    cadre_id = (await post(client, "/v1/helper-cadres", cadre))["id"]
    assert await published() == ["helper_cadre_registered"]
    assigned = await client.put(
        f"/v1/households/{hid}/helper-cadre", json={"helper_cadre_id": cadre_id}, headers=OFFICE
    )
    assert assigned.status_code == 200 and await published() == ["helper_cadre_assigned"]
    await post(client, f"/v1/households/{hid}/visits", {"round": 3, "visited_on": "2020-05-25", "visitor": "赵六"})
    assert await published() == ["visit_recorded"]
    await post(
        client, f"/v1/households/{hid}/income-records", {"year": year, "source": "wages", "amount_fen": 3 * 700_000}
    )
    assert await published() == ["income_recorded"]
    assert (await exit_poverty(client, hid)).status_code == 200
    assert await published() == ["status_changed"]
    episode = await post(
        client, f"/v1/households/{hid}/risk-flags", {"kind": "job_loss", "detail": "务工返乡", "raised_on": TODAY}
    )
    assert sorted(await published()) == [
        "monitoring_episode_opened",
        "problem_found",
        "risk_flag_raised",
        "status_changed",
    ]
    measure = {"kind": "public_welfare_job", "description": "公益岗", "taken_on": TODAY}
    await post(client, f"/v1/monitoring-episodes/{episode['id']}/measures", measure)
    assert await published() == ["monitoring_measure_taken"]
    close = {"decision": "risk_eliminated", "evidence": "公益岗位收入到位", "closed_on": TODAY}
    await post(client, f"/v1/monitoring-episodes/{episode['id']}/close", close, status=200)
    assert sorted(await published()) == ["monitoring_episode_closed", "status_changed"]


async def test_a_safe_grade_at_a_visit_is_an_officers_appraisal(api: Any) -> None:
    app, client = api
    hid = await family(client)
    await post(
        client,
        f"/v1/households/{hid}/housing-appraisals",
        {"grade": "D", "appraised_on": "2020-03-01", "appraiser": "区住建局"},
    )
    before = await event_types(app)
    visit = {"round": 3, "visited_on": TODAY, "visitor": "王五", "housing_grade": "A"}
    for role in ("helper_cadre", "inspector"):
        headers = auth(role, area=VILLAGE) if role == "helper_cadre" else auth(role)
        assert_problem(await client.post(f"/v1/households/{hid}/visits", json=visit, headers=headers), 403)
    assert (await client.get(f"/v1/households/{hid}", headers=OFFICE)).json()["housing_grade"] == "D"
    assert await event_types(app) == before
    worse = {**visit, "housing_grade": "D"}  # a visitor may find a house unsafe: a problem, not a re-grading to safe
    await post(client, f"/v1/households/{hid}/visits", worse, headers=auth("helper_cadre", area=VILLAGE))
    await post(client, f"/v1/households/{hid}/visits", visit)  # an officer's appraisal at the visit
    assert (await client.get(f"/v1/households/{hid}", headers=OFFICE)).json()["housing_grade"] == "A"


async def test_an_appraisal_or_water_check_older_than_the_latest_is_history_not_a_problem_found_now(api: Any) -> None:
    app, client = api
    hid = await family(client)
    await post(
        client,
        f"/v1/households/{hid}/housing-appraisals",
        {"grade": "A", "appraised_on": "2020-08-01", "appraiser": "x"},
    )
    await post(
        client, f"/v1/households/{hid}/water-checks", {"checked_on": "2020-08-01", "source": "piped", "checked_by": "y"}
    )
    before = len(await event_types(app))
    await post(
        client,
        f"/v1/households/{hid}/housing-appraisals",
        {"grade": "D", "appraised_on": "2020-01-10", "appraiser": "x"},
    )
    old_check = {"checked_on": "2020-02-01", "source": "well", "checked_by": "y", "problems": ["excess_fluoride"]}
    await post(client, f"/v1/households/{hid}/water-checks", old_check)
    published = [t.split(".")[3] for t in (await event_types(app))[before:]]
    assert published == ["housing_appraised", "water_checked"]  # recorded, but no problem_found for audit
    h = (await client.get(f"/v1/households/{hid}", headers=OFFICE)).json()
    assert (h["housing_grade"], h["water_safe"]) == ("A", True)

"""Funds (资金) on a migrated SQLite file: funding lines, a project's draws on them and its spending, never past the
money; the year's totals by source, to the fen; every refusal changes nothing.

The scenarios take the running service, so the PostgreSQL tier runs them again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from services.projects.models import FundAllocation, ProjectFunding, ProjectSpending
from tests.support import assert_problem, auth
from tests.unit.test_projects_lifecycle import (
    FINANCE,
    OFFICE,
    READER,
    TOWNSHIP_OFFICE,
    Running,
    accepted,
    allocate,
    approved,
    draw,
    moved,
    published,
    register,
    service,
    with_asset,
)

LINE = {
    "source": "district",
    "year": 2020,
    "document_no": "区财农〔2020〕12号",
    "purpose": "产业项目",
    "amount_fen": 2_150_000_000,
}


@pytest.fixture
async def api(sqlite_url: Any) -> AsyncIterator[Running]:
    async with service(await sqlite_url("projects")) as running:
        yield running


async def _count(app: Any, model: Any) -> int:
    async with app.state.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def spend(client: Any, project: str, funding: str, amount_fen: int, on: str = "2020-05-20") -> Any:
    body = {"funding_id": funding, "amount_fen": amount_fen, "spent_on": on, "purpose": "钢架", "voucher_no": "记-118"}
    return await client.post(f"/v1/projects/{project}/spending", json=body, headers=FINANCE)


async def _drawn(client: Any, project: str, line: str, amount_fen: int) -> str:
    r = await draw(client, project, line, amount_fen)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _line(client: Any, line: str) -> dict[str, Any]:
    items = (await client.get("/v1/fund-allocations", headers=READER)).json()["items"]
    [found] = [i for i in items if i["id"] == line]
    return dict(found)


# --- Funding lines ----------------------------------------------------------------------------------------------------


async def test_a_line_shows_what_projects_drew_on_it_and_spent(api: Running) -> None:
    _, client, _ = api
    r = await client.post("/v1/fund-allocations", json=LINE, headers=FINANCE)
    assert r.status_code == 201, r.text
    line = r.json()
    assert (line["amount_fen"], line["drawn_fen"], line["spent_fen"], line["available_fen"]) == (
        2_150_000_000,
        0,
        0,
        2_150_000_000,
    )
    assert (line["source"], line["year"], line["recorded_by"]) == ("district", 2020, "cashier-3")
    one = await approved(client)
    two = await approved(client, project_code="XM-2020-002")
    await _drawn(client, one, line["id"], 600_000_000)
    funding = await _drawn(client, two, line["id"], 400_000_001)
    assert (await spend(client, two, funding, 123_456_789)).status_code == 201
    seen = await _line(client, line["id"])
    assert (seen["drawn_fen"], seen["spent_fen"], seen["available_fen"]) == (1_000_000_001, 123_456_789, 1_149_999_999)


async def test_lines_are_listed_latest_year_first_by_year_and_source(api: Running) -> None:
    _, client, _ = api
    made = {
        (source, year): await allocate(client, source=source, year=year)
        for source in ("central", "district")
        for year in (2019, 2020, 2021)
    }
    pages, cursor, seen = 0, None, []
    while True:
        params: dict[str, Any] = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        body = (await client.get("/v1/fund-allocations", params=params, headers=READER)).json()
        seen += [(i["year"], i["source"]) for i in body["items"]]
        pages, cursor = pages + 1, body["next_cursor"]
        if cursor is None:
            break
    assert pages == 2 and len(seen) == 6 and [y for y, _ in seen] == [2021, 2021, 2020, 2020, 2019, 2019]
    only = (
        await client.get(
            "/v1/fund-allocations",
            params={"year": 2020, "source": "central"},
            headers=auth("township_office", area="371523101"),
        )
    ).json()["items"]
    assert [i["id"] for i in only] == [made[("central", 2020)]]
    for bad in ({"year": 1899}, {"year": "2020a"}, {"source": "bank"}, {"cursor": "WzFd"}):
        assert_problem(await client.get("/v1/fund-allocations", params=bad, headers=READER), 422)


@pytest.mark.parametrize(
    "changes",
    [
        {"amount_fen": 0},
        {"amount_fen": -100},
        {"amount_fen": 100.0},
        {"amount_fen": "100"},
        {"amount_fen": 10**13},
        {"source": "bank"},
        {"year": 1899},
        {"document_no": ""},
        {"document_no": "6217 0000 1234 5678 901"},  # a bank account number typed in
        {"purpose": "张三 11010519491231002X"},
        {"unexpected": 1},
    ],
)
async def test_a_bad_line_is_422_and_changes_nothing(api: Running, changes: dict[str, Any]) -> None:
    app, client, _ = api
    assert_problem(await client.post("/v1/fund-allocations", json={**LINE, **changes}, headers=FINANCE), 422)
    assert await _count(app, FundAllocation) == 0


@pytest.mark.parametrize("role", ["township_office", "inspector", "auditor", "village_cadre"])
async def test_only_fund_keepers_record_lines_draws_and_spending(api: Running, role: str) -> None:
    app, client, _ = api
    project = await approved(client)
    line = await allocate(client)
    funding = await _drawn(client, project, line, 1_000_000)
    headers = auth(role, area="371523101", sub="someone-else")
    assert_problem(await client.post("/v1/fund-allocations", json=LINE, headers=headers), 403)
    body = {"allocation_id": line, "amount_fen": 2_000_000}
    assert_problem(await client.post(f"/v1/projects/{project}/funding", json=body, headers=headers), 403)
    spent = {"funding_id": funding, "amount_fen": 1, "spent_on": "2020-05-20", "purpose": "钢架", "voucher_no": "1"}
    assert_problem(await client.post(f"/v1/projects/{project}/spending", json=spent, headers=headers), 403)
    counts = (await _count(app, FundAllocation), await _count(app, ProjectFunding), await _count(app, ProjectSpending))
    assert counts == (2, 2, 0)  # the approved project's own line and draw, and this test's
    drawn = (await client.get(f"/v1/projects/{project}/funding", headers=READER)).json()["items"]
    assert sorted(f["amount_fen"] for f in drawn) == [1_000_000, 150_000_000]


async def test_a_line_retried_with_its_key_is_recorded_once(api: Running) -> None:
    app, client, _ = api
    keyed = {**FINANCE, "Idempotency-Key": "line-2020-district"}
    first = await client.post("/v1/fund-allocations", json=LINE, headers=keyed)
    again = await client.post("/v1/fund-allocations", json=LINE, headers=keyed)
    assert (first.status_code, again.status_code, again.json()) == (201, 200, first.json())
    assert again.headers["Idempotency-Replayed"] == "true"
    assert await _count(app, FundAllocation) == 1


# --- Draws ------------------------------------------------------------------------------------------------------------


async def scenario_draws_never_exceed_the_line(api: Running) -> None:
    app, client, _ = api
    line = await allocate(client, amount_fen=1_000_000)
    one, two = await register(client), await register(client, project_code="XM-2020-002")
    assert (await draw(client, one, line, 700_000)).status_code == 201
    refused = assert_problem(await draw(client, two, line, 300_001), 409)
    assert (refused["code"], refused["available_fen"]) == ("allocation_exhausted", 300_000)
    assert (await draw(client, two, line, 300_000)).status_code == 201
    assert assert_problem(await draw(client, one, line, 700_001), 409)["available_fen"] == 700_000
    assert (await _line(client, line))["available_fen"] == 0
    assert await _count(app, ProjectFunding) == 2


async def test_draws_never_exceed_the_line(api: Running) -> None:
    await scenario_draws_never_exceed_the_line(api)


async def scenario_a_second_draw_on_a_line_sets_its_new_total(api: Running) -> None:
    app, client, _ = api
    project = await approved(client)
    line = await allocate(client, amount_fen=1_000_000)
    first = await draw(client, project, line, 400_000)
    raised = await draw(client, project, line, 900_000)
    assert (first.status_code, raised.status_code, raised.json()["id"]) == (201, 200, first.json()["id"])
    assert (raised.json()["amount_fen"], raised.json()["available_fen"]) == (900_000, 900_000)
    assert (await spend(client, project, first.json()["id"], 500_000)).status_code == 201
    below = assert_problem(await draw(client, project, line, 499_999), 409)
    assert (below["code"], below["spent_fen"]) == ("draw_below_spent", 500_000)
    lowered = await draw(client, project, line, 500_000)
    assert (lowered.status_code, lowered.json()["available_fen"]) == (200, 0)
    lines = (await client.get(f"/v1/projects/{project}/funding", headers=READER)).json()["items"]
    assert sorted((f["amount_fen"], f["spent_fen"]) for f in lines) == [(500_000, 500_000), (150_000_000, 0)]
    assert await _count(app, ProjectFunding) == 2


async def test_a_second_draw_on_a_line_sets_its_new_total(api: Running) -> None:
    await scenario_a_second_draw_on_a_line_sets_its_new_total(api)


async def test_a_draw_names_a_line_that_exists_and_a_closed_project_draws_no_more(api: Running) -> None:
    app, client, _ = api
    project = await accepted(client)
    unknown = assert_problem(await draw(client, project, "6f1d1bb0-0000-4000-8000-000000000000", 1), 422)
    assert [(e["field"], e["code"]) for e in unknown["errors"]] == [("body.allocation_id", "unknown_allocation")]
    await with_asset(app, project)
    await moved(client, project, "operating", "2020-06-30")
    await moved(client, project, "closed", "2020-07-01")
    line = await allocate(client)
    closed = assert_problem(await draw(client, project, line, 1), 409)
    assert (closed["code"], closed["project_status"]) == ("project_state", "closed")
    for bad in (0, -1, 1.5, "1", None):
        body = {"allocation_id": line, "amount_fen": bad}
        assert_problem(await client.post(f"/v1/projects/{project}/funding", json=body, headers=FINANCE), 422)
    assert await _count(app, ProjectFunding) == 1


# --- Spending ---------------------------------------------------------------------------------------------------------


async def scenario_spending_never_passes_the_draw(api: Running) -> None:
    app, client, _ = api
    project = await approved(client)
    line = await allocate(client, amount_fen=1_000_000)
    funding = await _drawn(client, project, line, 1_000_000)
    assert (await spend(client, project, funding, 999_999)).status_code == 201
    refused = assert_problem(await spend(client, project, funding, 2), 409)
    assert (refused["code"], refused["available_fen"]) == ("funding_exhausted", 1)
    assert (await spend(client, project, funding, 1, on="2020-06-01")).status_code == 201
    assert await _count(app, ProjectSpending) == 2


async def test_spending_never_passes_the_draw(api: Running) -> None:
    await scenario_spending_never_passes_the_draw(api)


async def test_spending_is_against_the_projects_own_draw_of_a_project_approved_and_not_closed(api: Running) -> None:
    app, client, _ = api
    planned = await register(client, project_code="XM-2020-009")
    line = await allocate(client)
    planned_draw = await _drawn(client, planned, line, 1_000)
    refused = assert_problem(await spend(client, planned, planned_draw, 1), 409)
    assert (refused["code"], refused["project_status"]) == ("project_state", "planned")
    project = await approved(client)
    others = assert_problem(await spend(client, project, planned_draw, 1), 422)
    assert [(e["field"], e["code"]) for e in others["errors"]] == [("body.funding_id", "unknown_funding")]
    own = await _drawn(client, project, line, 1_000)
    ahead = assert_problem(await spend(client, project, own, 1, on="2020-07-02"), 422)  # it is 2020-07-01
    assert [(e["field"], e["code"]) for e in ahead["errors"]] == [("body.spent_on", "in_future")]
    early = assert_problem(await spend(client, project, own, 1, on="2020-02-29"), 422)  # it started 2020-03-01
    assert [e["code"] for e in early["errors"]] == ["before_project_start"]
    body = {
        "funding_id": own,
        "amount_fen": 1,
        "spent_on": "2020-05-20",
        "purpose": "钢架",
        "voucher_no": "6217000012345678901",
    }
    assert_problem(await client.post(f"/v1/projects/{project}/spending", json=body, headers=FINANCE), 422)
    assert await _count(app, ProjectSpending) == 0


async def test_spending_is_published_with_its_lines_source_and_year(api: Running) -> None:
    app, client, _ = api
    project = await approved(client, area_code="371523101202")
    line = await allocate(client, source="provincial", year=2019)
    funding = await _drawn(client, project, line, 1_000_000)
    r = await spend(client, project, funding, 380_000)
    assert r.status_code == 201, r.text
    refused = await spend(client, project, funding, 1_000_000)  # past the draw: nothing published
    assert assert_problem(refused, 409)["code"] == "funding_exhausted"
    assert await published(app, "gov.poverty.projects.spending_recorded.v1") == [
        {
            "project_id": project,
            "spending_id": r.json()["id"],
            "funding_id": funding,
            "allocation_id": line,
            "source": "provincial",
            "year": 2019,
            "amount_fen": 380_000,
            "spent_on": "2020-05-20",
            "area_code": "371523101202",
        }
    ]


async def test_a_projects_spending_is_listed_latest_first(api: Running) -> None:
    _, client, _ = api
    project = await approved(client)
    line = await allocate(client)
    funding = await _drawn(client, project, line, 1_000_000)
    days = ["2020-04-01", "2020-06-15", "2020-05-20", "2020-06-15"]
    for amount, day in enumerate(days, start=1):
        assert (await spend(client, project, funding, amount, on=day)).status_code == 201
    first = (await client.get(f"/v1/projects/{project}/spending", params={"limit": 3}, headers=READER)).json()
    rest = (
        await client.get(f"/v1/projects/{project}/spending", params={"cursor": first["next_cursor"]}, headers=READER)
    ).json()
    listed = [s["spent_on"] for s in first["items"] + rest["items"]]
    assert listed == sorted(days, reverse=True) and rest["next_cursor"] is None
    lines = (await client.get(f"/v1/projects/{project}/funding", headers=READER)).json()["items"]
    assert {(f["id"], f["spent_fen"]) for f in lines if f["id"] == funding} == {(funding, 10)}


# --- Totals -----------------------------------------------------------------------------------------------------------

# The report's 2020: 区级专项扶贫资金 2,150万, 上级资金 2,082万 (central, provincial, municipal), 4,232万 in all.
REPORT_LINES = [
    ("district", 2_150_000_000),
    ("central", 1_500_000_000),
    ("provincial", 400_000_000),
    ("municipal", 182_000_000),
]


async def scenario_the_years_totals_by_source_are_exact(api: Running) -> None:
    _, client, _ = api
    lines = {source: await allocate(client, source=source, amount_fen=amount) for source, amount in REPORT_LINES}
    await allocate(client, source="central", year=2019, amount_fen=999)  # another year: not counted
    here = await approved(client)  # in village 371523101201, with a 2020 district line of 1,500,000 yuan of its own
    there = await approved(client, project_code="XM-2020-002", area_code="371523105203")
    for project, source, amount, spent in [
        (here, "district", 700_000_001, 300_000_000),
        (here, "central", 500_000_000, 499_999_999),
        (there, "central", 1_000_000_000, 1),
        (there, "municipal", 182_000_000, 0),
    ]:
        funding = await _drawn(client, project, lines[source], amount)
        if spent:
            assert (await spend(client, project, funding, spent)).status_code == 201
    totals = (await client.get("/v1/funds/totals", params={"year": 2020}, headers=READER)).json()
    by_source = {s["source"]: (s["allocated_fen"], s["drawn_fen"], s["spent_fen"]) for s in totals["sources"]}
    assert by_source == {
        "district": (2_150_000_000 + 300_000_000, 700_000_001 + 300_000_000, 300_000_000),
        "central": (1_500_000_000, 1_500_000_000, 500_000_000),
        "provincial": (400_000_000, 0, 0),
        "municipal": (182_000_000, 182_000_000, 0),
        "matching": (0, 0, 0),
    }
    assert totals["higher_levels"] == {
        "allocated_fen": 2_082_000_000,
        "drawn_fen": 1_682_000_000,
        "spent_fen": 500_000_000,
    }
    assert totals["total"] == {"allocated_fen": 4_532_000_000, "drawn_fen": 2_682_000_001, "spent_fen": 800_000_000}
    own = (await client.get("/v1/funds/totals", params={"year": 2020}, headers=TOWNSHIP_OFFICE)).json()
    assert own["area_code"] == "371523101"
    assert own["total"] == {"allocated_fen": 4_532_000_000, "drawn_fen": 1_350_000_001, "spent_fen": 799_999_999}
    village = await client.get("/v1/funds/totals", params={"year": 2020, "area_code": "371523105203"}, headers=OFFICE)
    assert village.json()["total"]["drawn_fen"] == 1_332_000_000
    none = (await client.get("/v1/funds/totals", params={"year": 2018}, headers=READER)).json()
    assert none["total"] == {"allocated_fen": 0, "drawn_fen": 0, "spent_fen": 0} and len(none["sources"]) == 5


async def test_the_years_totals_by_source_are_exact(api: Running) -> None:
    await scenario_the_years_totals_by_source_are_exact(api)


async def test_totals_need_a_year_and_keep_a_scoped_officer_to_their_area(api: Running) -> None:
    _, client, _ = api
    assert_problem(await client.get("/v1/funds/totals", headers=READER), 422)
    assert_problem(await client.get("/v1/funds/totals", params={"year": "last"}, headers=READER), 422)
    elsewhere: dict[str, Any] = {"year": 2020, "area_code": "371523105"}
    assert_problem(await client.get("/v1/funds/totals", params=elsewhere, headers=TOWNSHIP_OFFICE), 403)
    assert_problem(await client.get("/v1/funds/totals", params={"year": 2020}, headers=auth("dept_health")), 403)

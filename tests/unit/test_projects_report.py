"""Projects' part of the half-year report on a migrated SQLite file, the situation built through the API (and the
households' events for the roll): each figure as the README defines it, and a bad period, area or reach refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest

from shared.timeutil import district_today
from tests.support import apply_event, assert_problem, auth
from tests.unit.test_projects_lifecycle import (
    FENCE,
    FINANCE,
    OFFICE,
    Running,
    accept,
    accepted,
    allocate,
    completed,
    draw,
    register,
    service,
)
from tests.unit.test_projects_plans import Household, a_project, an_asset, enrol, paid, prepared, reversed_
from tests.unit.test_projects_plans import approved as plan_approved
from tests.unit.test_projects_posts import on_roll

TOWNSHIP, VILLAGE, FAR_VILLAGE = "371523101", "371523101201", "371523105203"
H1 = {"from": "2020-01-01", "to": "2020-06-30"}
H2 = {"from": "2020-07-01", "to": "2020-12-31"}


@pytest.fixture
async def api(sqlite_url: Any) -> AsyncIterator[Running]:
    async with service(await sqlite_url("projects")) as running:
        yield running


async def _figures(
    client: httpx.AsyncClient, query: dict[str, str] = H1, headers: dict[str, str] = OFFICE
) -> dict[Any, int]:
    response = await client.get("/v1/report", params=query, headers=headers)
    assert response.status_code == 200, response.text
    return {(f["key"], *f["by"].values()): f["value"] for f in response.json()["figures"]}


async def _spend(client: httpx.AsyncClient, project: str, funding: str, amount_fen: int, on: str) -> None:
    body = {"funding_id": funding, "amount_fen": amount_fen, "spent_on": on, "purpose": "钢架", "voucher_no": "记-1"}
    response = await client.post(f"/v1/projects/{project}/spending", json=body, headers=FINANCE)
    assert response.status_code == 201, response.text


async def test_funds_are_the_years_lines_by_source_spent_by_the_periods_end(api: Running) -> None:
    _, client, _ = api
    central = await allocate(client, source="central", amount_fen=80_000_000)
    await allocate(client, source="central", year=2019, amount_fen=999)  # another year's line
    project = await completed(client)  # draws 150,000,000 on a district line of its own
    funding = (await draw(client, project, central, 50_000_000)).json()["id"]
    await _spend(client, project, funding, 10_000_000, "2020-05-20")
    await _spend(client, project, funding, 5_000_000, "2020-07-01")  # the day after the first half

    first_half, second_half = await _figures(client), await _figures(client, H2)
    far = await _figures(client, headers=auth("township_office", area="371523105"))

    assert (first_half["funds.allocated", "central"], first_half["funds.drawn", "central"]) == (80_000_000, 50_000_000)
    assert (first_half["funds.spent", "central"], second_half["funds.spent", "central"]) == (10_000_000, 15_000_000)
    assert first_half["funds.allocated", "district"] == 150_000_000
    assert first_half["funds.higher_levels.allocated",] == 80_000_000
    assert first_half["funds.higher_levels.spent",] == 10_000_000
    assert first_half["funds.allocated", "matching"] == 0
    # The lines are the district's; what was drawn and spent is the area's projects'.
    assert (far["funds.allocated", "central"], far["funds.drawn", "central"], far["funds.spent", "central"]) == (
        80_000_000, 0, 0
    )  # fmt: skip


async def test_projects_by_status_at_the_periods_end_started_and_accepted(api: Running) -> None:
    _, client, _ = api
    await accepted(client)  # started 2020-03-01, under construction from 03-15, completed 06-10, accepted 06-20
    failed = await completed(client, project_code="XM-2020-002")
    assert (await accept(client, failed, passed=False, findings=[FENCE])).status_code == 201
    await register(client, project_code="XM-2019-009", started_on="2019-12-31")  # the day before
    await register(client, project_code="XM-2020-010", started_on="2020-07-01", area_code=FAR_VILLAGE)  # the day after

    first_half, first_quarter = (
        await _figures(client),
        await _figures(client, {"from": "2020-01-01", "to": "2020-03-31"}),
    )

    assert {k[1]: v for k, v in first_half.items() if k[0] == "projects.by_status" and v} == {
        "accepted": 1, "completed": 1, "planned": 1
    }  # fmt: skip
    assert {k[1]: v for k, v in first_quarter.items() if k[0] == "projects.by_status" and v} == {
        "under_construction": 2, "planned": 1
    }  # fmt: skip
    assert {k[1]: v for k, v in first_half.items() if k[0] == "projects.started"} == {TOWNSHIP: 2}
    assert first_half["projects.accepted",] == 1 and first_quarter["projects.accepted",] == 0
    second_half = await _figures(client, H2)
    assert {k[1]: v for k, v in second_half.items() if k[0] == "projects.started"} == {"371523105": 1}


async def test_income_received_and_plans_approved_in_the_period_with_their_set_asides(api: Running) -> None:
    app, client, clock = api
    clock.on(date(2020, 7, 10))
    await enrol(app, Household(), Household(born=[date(1980, 1, 1)] * 2))
    project = await a_project(app)
    asset = await an_asset(client, project)  # registered 2020-06-15
    incomes = []
    for amount, period, received_on in [(100_000, "2020-06", "2020-06-30"), (200_000, "2020-07", "2020-07-01")]:
        body = {"asset_id": asset, "period": period, "amount_fen": amount, "received_on": received_on}
        response = await client.post(f"/v1/projects/{project}/income", json=body, headers=FINANCE)
        assert response.status_code == 201, response.text
        incomes.append(response.json()["id"])
    set_asides = [
        {"purpose": "public_welfare_jobs", "share_bp": 2000},
        {"purpose": "double_improvement", "share_bp": 1000},
    ]
    plan = await prepared(client, incomes[0], set_asides=set_asides)
    await plan_approved(client, plan["id"])  # on 2020-07-10
    await prepared(client, incomes[1])  # not approved

    first_half, second_half = await _figures(client), await _figures(client, H2)

    assert (first_half["income.received",], second_half["income.received",]) == (100_000, 200_000)
    assert (first_half["income.distribution_approved",], second_half["income.distribution_approved",]) == (0, 100_000)
    assert second_half["income.set_aside", "public_welfare_jobs"] == 20_000
    assert second_half["income.set_aside", "double_improvement"] == 10_000
    assert first_half["income.set_aside", "double_improvement"] == 0
    assert (first_half["assets.registered",], first_half["assets.value",]) == (1, 150_000_000)
    first_quarter = await _figures(client, {"from": "2020-01-01", "to": "2020-03-31"})
    assert (first_quarter["assets.registered",], first_quarter["assets.value",]) == (0, 0)


async def test_shares_paid_count_while_not_reversed(api: Running) -> None:
    app, client, clock = api
    clock.on(date(2020, 7, 10))
    households = [Household(), Household()]
    await enrol(app, *households)
    project = await a_project(app)
    income = (
        await client.post(
            f"/v1/projects/{project}/income",
            json={"asset_id": await an_asset(client, project), "period": "2020-06", "amount_fen": 100_000},
            headers=FINANCE,
        )
    ).json()["id"]
    plan = (await prepared(client, income))["id"]
    await plan_approved(client, plan)
    kept, returned = str(households[0].id), str(households[1].id)
    returned_payment = uuid4()
    await apply_event(app, paid(plan, kept, 50_000))
    await apply_event(app, paid(plan, returned, 50_000, returned_payment))
    await apply_event(app, reversed_(returned, returned_payment, 50_000))
    today = district_today()  # subsidies' payments reach projects when they happen: now
    recent = {"from": (today - timedelta(days=30)).isoformat(), "to": today.isoformat()}

    figures = await _figures(client, recent)

    assert (figures["income.shares_paid",], figures["income.households_paid",]) == (50_000, 1)
    assert (await _figures(client))["income.shares_paid",] == 0


async def _post(client: httpx.AsyncClient, area_code: str, household: Any, member: Any, start: str) -> str:
    body = {"title": "保洁员", "duty": "cleaning", "area_code": area_code, "monthly_allowance_fen": 60_000}
    post = (await client.post("/v1/posts", json=body, headers=OFFICE)).json()["id"]
    holder = {"household_id": str(household), "member_id": str(member), "started_on": start}
    assert (await client.post(f"/v1/posts/{post}/holder", json=holder, headers=OFFICE)).status_code == 201
    return str(post)


async def test_posts_held_at_the_periods_end_and_the_allowances_of_payrolls_approved_in_it(api: Running) -> None:
    app, client, clock = api
    clock.on(date(2020, 6, 20))
    whole = await on_roll(app)
    ended = await on_roll(app)
    far = await on_roll(app, area_code=FAR_VILLAGE)
    await _post(client, VILLAGE, whole[0], whole[1][0], "2020-01-01")
    ended_post = await _post(client, VILLAGE, ended[0], ended[1][0], "2020-02-01")
    await client.post(f"/v1/posts/{ended_post}/holder/end", json={"ended_on": "2020-06-10"}, headers=OFFICE)
    await _post(client, FAR_VILLAGE, far[0], far[1][0], "2020-01-01")
    payroll = (await client.post("/v1/payrolls", json={"period": "2020-06"}, headers=FINANCE)).json()
    assert (await client.post(f"/v1/payrolls/{payroll['id']}/approval", headers=OFFICE)).status_code == 200

    district, township = await _figures(client), await _figures(client, {**H1, "area_code": TOWNSHIP})

    assert (district["posts.held",], township["posts.held",]) == (2, 1)
    assert (district["posts.allowances",], district["posts.allowance_people",]) == (60_000 + 20_000 + 60_000, 3)
    assert (township["posts.allowances",], township["posts.allowance_people",]) == (80_000, 2)
    assert (await _figures(client, H2))["posts.allowances",] == 0


async def test_contract_costs_by_the_day_they_start_and_workshop_wages_by_their_month(api: Running) -> None:
    app, client, clock = api
    project = await accepted(client)
    for kind, starts_on, expires_on in [
        ("insurance", "2020-06-30", "2021-06-29"),
        ("maintenance", "2020-07-01", "2021-06-30"),
    ]:
        body = {
            "kind": kind,
            "provider": "人保财险",
            "cost_fen": 148_000,
            "starts_on": starts_on,
            "expires_on": expires_on,
        }
        assert (await client.post(f"/v1/projects/{project}/contracts", json=body, headers=OFFICE)).status_code == 201
    clock.on(date(2020, 7, 10))
    workshop_body = {
        "name": "同心就业工场",
        "kind": "employment_workshop",
        "area_code": TOWNSHIP,
        "operator": "同心服饰",
    }
    workshop = (await client.post("/v1/workshops", json=workshop_body, headers=OFFICE)).json()["id"]
    household, [a, b] = await on_roll(app, members=2)
    employments = []
    for member in (a, b):
        hire = {
            "household_id": str(household),
            "member_id": str(member),
            "monthly_wage_fen": 180_000,
            "started_on": "2020-03-01",
        }
        employments.append(
            (await client.post(f"/v1/workshops/{workshop}/workers", json=hire, headers=OFFICE)).json()["id"]
        )
    for period in ("2020-06", "2020-07"):
        lines = [{"employment_id": e, "amount_fen": 180_000} for e in employments]
        wages = await client.post(
            f"/v1/workshops/{workshop}/wages", json={"period": period, "lines": lines}, headers=FINANCE
        )
        assert wages.status_code == 201, wages.text

    figures = await _figures(client)

    assert (figures["contracts.cost", "insurance"], figures["contracts.cost", "maintenance"]) == (148_000, 0)
    assert (await _figures(client, H2))["contracts.cost", "maintenance"] == 148_000
    assert (figures["workshops.wages",], figures["workshops.employed",]) == (360_000, 2)
    assert (await _figures(client, {**H1, "area_code": "371523105"}))["workshops.wages",] == 0


async def test_the_part_names_its_period_and_area(api: Running) -> None:
    _, client, _ = api
    body = (await client.get("/v1/report", params=H1, headers=auth("village_cadre", area=VILLAGE))).json()

    assert (body["service"], body["period_from"], body["period_to"], body["area_code"]) == (
        "projects", "2020-01-01", "2020-06-30", VILLAGE
    )  # fmt: skip


@pytest.mark.parametrize(
    ("query", "headers", "status"),
    [
        ({"from": "2020-06-30", "to": "2020-01-01"}, OFFICE, 422),
        ({"from": "2020-01-01", "to": "2021-01-02"}, OFFICE, 422),
        ({**H1, "area_code": "3715231"}, OFFICE, 422),
        ({"from": "2020-02-30", "to": "2020-06-30"}, OFFICE, 422),
        ({"from": "2020-01-01"}, OFFICE, 422),
        ({**H1, "area_code": "371523105"}, auth("township_office", area=TOWNSHIP), 403),
        ({**H1, "area_code": TOWNSHIP}, auth("village_cadre", area=VILLAGE), 403),
        (H1, auth("households_clerk"), 403),
        (H1, {}, 401),
    ],
)
async def test_a_bad_period_area_or_reach_is_refused(
    api: Running, query: dict[str, str], headers: dict[str, str], status: int
) -> None:
    _, client, _ = api
    assert_problem(await client.get("/v1/report", params=query, headers=headers), status)

"""Assets, income and distribution plans on real PostgreSQL: the unit tier's flows again, requests racing for one
income's plan, one plan's approval and one asset's month, payments of one plan arriving at once, and a plan of the
most households one may share among, exact to the fen."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import func, select, update
from sqlmodel import col

from services.projects.models import DistributionPlan, PlanShare, ProjectIncome, ProjectProblem, RollHousehold
from shared.contracts.projects import MAX_PLAN_SHARES
from tests.support import apply_event, assert_problem, auth
from tests.unit import test_projects_assets as asset_flows
from tests.unit import test_projects_plan_controls as controls
from tests.unit import test_projects_plans as flows
from tests.unit.test_projects_plans import (
    APPROVED,
    CADRE,
    FINANCE,
    OFFICE,
    READER,
    TOWNSHIP_OFFICE,
    Household,
    a_project,
    an_asset,
    approved,
    count,
    enrol,
    outbox,
    paid,
    plans_app,
    prepare,
    prepared,
    shares_of,
    step,
    village_income,
)

pytestmark = pytest.mark.integration
MakeDb = Callable[[str], Awaitable[str]]
Scenario = Callable[[Any], Awaitable[None]]


@pytest.fixture
async def api(pg_database: MakeDb) -> AsyncIterator[tuple[Any, Any]]:
    async with plans_app(await pg_database("projects")) as running:
        yield running


@pytest.mark.parametrize(
    "scenario",
    [
        asset_flows.test_an_asset_is_registered_to_its_owner_and_published,
        asset_flows.test_the_asset_register_sums_each_assets_income_this_year_and_last,
        asset_flows.test_the_asset_register_is_paged,
        asset_flows.test_income_is_recorded_per_asset_and_month_with_its_distribution_state,
        flows.test_a_plan_by_members_shares_exactly_among_the_entitled_households_only,
        flows.test_a_plan_by_categories_weighs_each_households_points,
        flows.test_a_plan_by_households_shares_equally_and_a_township_asset_reaches_its_villages,
        flows.test_the_rounding_fen_go_to_the_lowest_household_ids_and_a_zero_share_gets_no_row,
        flows.test_one_live_plan_per_income_and_a_rejected_one_may_be_planned_again,
        flows.test_a_plan_is_reviewed_approved_and_published_for_subsidies,
        flows.test_the_approver_neither_prepared_nor_reviewed_the_plan,
        flows.test_a_step_out_of_order_is_409_naming_the_status,
        flows.test_payments_mark_the_shares_paid_once_and_the_plan_paid_then_accounted,
        flows.test_a_reversed_payment_returns_the_share_and_the_plan_to_awaiting_payment,
        flows.test_plans_are_listed_latest_first_filtered_and_paged,
        flows.test_a_household_sees_what_it_got_from_plans_not_rejected,
        controls.test_a_plan_is_reviewed_by_someone_other_than_its_preparer_however_written,
        controls.test_a_plan_is_approved_by_neither_its_preparer_nor_its_reviewer_however_written,
        controls.test_approval_refuses_a_plan_with_households_the_roll_no_longer_entitles,
        controls.test_a_household_moving_within_a_township_owners_area_keeps_its_share,
        controls.test_a_payment_for_a_plan_never_approved_is_refused,
        controls.test_a_second_payment_of_a_paid_share_is_kept_out_and_reported_to_audit_once,
        controls.test_a_reversal_after_accounting_returns_the_plan_to_approved_until_paid_and_accounted_again,
        controls.test_every_change_of_a_plans_status_is_published,
    ],
    ids=lambda scenario: scenario.__name__.removeprefix("test_"),
)
async def test_the_flows_hold_on_postgres(api: Any, scenario: Scenario) -> None:
    await scenario(api)


async def test_two_plans_prepared_at_once_for_one_income_are_one_plan(api: Any) -> None:
    app, client = api
    await enrol(app, Household(), Household())
    income = await village_income(app, client)
    answers = await asyncio.gather(
        prepare(client, income, CADRE), prepare(client, income, TOWNSHIP_OFFICE, basis="households")
    )
    assert sorted(r.status_code for r in answers) == [201, 409]
    assert assert_problem(next(r for r in answers if r.status_code == 409), 409)["code"] == "plan_exists"
    assert (await count(app, DistributionPlan), await count(app, PlanShare)) == (1, 2)


async def test_one_plan_approved_by_several_at_once_is_published_once(api: Any) -> None:
    app, client = api
    await enrol(app, Household())
    plan = (await prepared(client, await village_income(app, client)))["id"]
    await step(client, plan, "review", TOWNSHIP_OFFICE, {"approve": True})
    approvers = [FINANCE, OFFICE, *(auth("finance_officer", sub=f"finance-{n}") for n in range(2, 5))]
    answers = await asyncio.gather(*(step(client, plan, "approval", approver) for approver in approvers))
    assert sorted(r.status_code for r in answers) == [200] + [409] * 4
    assert len(await outbox(app, APPROVED)) == 1


async def test_one_assets_month_recorded_twice_at_once_is_one_income(api: Any) -> None:
    app, client = api
    project = await a_project(app)
    body = {"asset_id": await an_asset(client, project), "period": "2020-06", "amount_fen": 100}
    answers = await asyncio.gather(
        *(client.post(f"/v1/projects/{project}/income", json=body, headers=FINANCE) for _ in range(2))
    )
    assert sorted(r.status_code for r in answers) == [201, 409]
    assert await count(app, ProjectIncome) == 1


async def test_payments_of_one_plan_arriving_at_once_are_each_counted(api: Any) -> None:
    app, client = api
    households = [str(h) for h in await enrol(app, *(Household() for _ in range(6)))]
    plan = (await prepared(client, await village_income(app, client, amount=600_001)))["id"]
    await approved(client, plan)
    shares = await shares_of(client, plan)
    await asyncio.gather(*(apply_event(app, paid(plan, h, shares[h]["amount_fen"])) for h in households))
    read = (await client.get(f"/v1/plans/{plan}", headers=READER)).json()
    assert (read["status"], read["paid_fen"]) == ("paid", 600_001)


async def test_a_plan_of_the_most_households_is_exact_and_one_more_is_refused(api: Any) -> None:
    app, client = api
    ages = [date(1950, 1, 1), date(1980, 1, 1), date(2010, 1, 1)]
    await enrol(
        app,
        *(
            Household(born=ages[: 1 + n % 3], grades={0: 1 + n % 4} if n % 5 == 0 else {})
            for n in range(MAX_PLAN_SHARES)
        ),
    )
    income = await village_income(app, client, amount=4_466_401)
    rule = {
        "basis": "categories",
        "category_points": {"weak_labour": 2, "disabled": 3, "elderly_alone": 4},
        "set_asides": [{"purpose": "double_improvement", "share_bp": 1128}],
    }
    plan = await prepared(client, income, **rule)
    assert plan["set_aside_fen"] == 4_466_401 * 1128 // 10_000
    async with app.state.sessions() as s:
        total, rows = (
            await s.execute(
                select(func.sum(col(PlanShare.amount_fen)), func.count()).where(col(PlanShare.plan_id) == plan["id"])
            )
        ).one()
    assert (total, rows) == (plan["shared_fen"], plan["household_count"])
    assert total + plan["set_aside_fen"] == 4_466_401
    await step(client, plan["id"], "review", TOWNSHIP_OFFICE, {"approve": False, "note": "再加一户"})
    await enrol(app, Household(id=uuid4()))
    assert assert_problem(await prepare(client, income, **rule), 409)["code"] == "plan_too_large"


async def test_two_payments_of_one_share_at_once_pay_it_once_and_report_the_other(api: Any) -> None:
    app, client = api
    [household] = [str(h) for h in await enrol(app, Household())]
    plan = (await prepared(client, await village_income(app, client, amount=500)))["id"]
    await approved(client, plan)
    payments = [uuid4(), uuid4()]
    await asyncio.gather(*(apply_event(app, paid(plan, household, 500, p)) for p in payments))
    [share] = (await shares_of(client, plan)).values()
    kept = share["payment_id"]
    assert share["status"] == "paid" and kept in {str(p) for p in payments}
    async with app.state.sessions() as s:
        reported = (await s.scalars(select(col(ProjectProblem.subject_ref)))).all()
    assert reported == [str(p) for p in payments if str(p) != kept]
    read = (await client.get(f"/v1/plans/{plan}", headers=READER)).json()
    assert (read["status"], read["paid_fen"]) == ("paid", 500)


async def test_the_approval_of_the_largest_plan_judges_its_households_again_in_one_query(api: Any) -> None:
    app, client = api
    households = await enrol(app, *(Household() for _ in range(MAX_PLAN_SHARES)))
    plan = (await prepared(client, await village_income(app, client, amount=5_000_003), basis="households"))["id"]
    await step(client, plan, "review", TOWNSHIP_OFFICE, {"approve": True})
    gone = sorted(households, key=str)[-2:]
    async with app.state.sessions() as s, s.begin():
        await s.execute(
            update(RollHousehold).where(col(RollHousehold.household_id).in_(gone)).values(status="exited_no_policies")
        )
    refused = assert_problem(await step(client, plan, "approval", FINANCE), 409)
    assert (refused["code"], refused["household_ids"]) == ("plan_outdated", [str(h) for h in gone])
    async with app.state.sessions() as s, s.begin():
        await s.execute(
            update(RollHousehold).where(col(RollHousehold.household_id).in_(gone)).values(status="monitored")
        )
    assert (await step(client, plan, "approval", FINANCE)).status_code == 200
    [event] = await outbox(app, APPROVED)
    assert len(event["shares"]) == MAX_PLAN_SHARES
    assert sum(s["amount_fen"] for s in event["shares"]) == 5_000_003

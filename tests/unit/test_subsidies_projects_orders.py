"""Subsidies pays what projects approved, on a migrated SQLite file: an approved distribution plan (收益分配方案) or
payroll of public-welfare posts (公益岗位工资表) becomes a cycle approved already whose id is the plan's or the
payroll's, paid through its batches, bank file and the bank's result, each payment published with `cycle_id` the
order's id; the same order again changes nothing, a second payroll of a month is refused, and the catalogue refuses
to decide these programmes by a rule of its own."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlmodel import col

from services.subsidies.domain.schedule import Cadence, run_cycle_checks
from services.subsidies.models import Cycle, CycleEntitlement, Payment
from shared.api.clock import request_time
from shared.contracts.households import HouseholdRegistered, HouseholdStatus, HouseholdStatusChanged
from shared.contracts.projects import (
    MAX_PLAN_SHARES,
    IncomeDistributionApproved,
    PayrollApproved,
    PayrollLine,
    PlanShare,
)
from shared.errors import Conflict
from shared.messaging.outbox import OutboxMessage
from tests.support import apply_event, assert_problem, auth, running_app
from tests.unit.test_subsidies_paid_once import (
    add_payee,
    all_paid,
    awaiting,
    build,
    exported_batch,
    import_file,
    lines_of,
)

FINANCE = auth("finance_officer", sub="cashier-1")
DIRECTOR = auth("district_office", sub="director")
TOWNSHIP, VILLAGE, OTHER_VILLAGE = "371523101", "371523101201", "371523101202"
H = [UUID(int=700 + n) for n in range(3)]
MEMBERS = [UUID(int=800 + n) for n in range(3)]
POST = UUID(int=900)
PLAN_A, PLAN_B, INCOME_A, INCOME_B = UUID(int=1001), UUID(int=1002), UUID(int=1101), UUID(int=1102)
PAYROLL, OTHER_PAYROLL = UUID(int=2001), UUID(int=2002)
JULY_1 = datetime(2020, 7, 1, 2, tzinfo=UTC)  # 10:00 in the district, the month after the orders' June
Plan = IncomeDistributionApproved
RECEIVES_POLICIES = {"fact": "household.status", "op": "ne", "value": "exited_no_policies"}


@asynccontextmanager
async def ordering_app(url: str) -> AsyncIterator[tuple[FastAPI, AsyncClient]]:
    """Subsidies with three households of one township known (two in one village), its clock on 1 July 2020."""
    async with running_app("subsidies", url) as (app, client):
        app.dependency_overrides[request_time] = lambda: JULY_1
        for n, household in enumerate(H):
            area = OTHER_VILLAGE if n == 2 else VILLAGE
            registered = HouseholdRegistered(
                household_id=household, household_code=f"PO-{n}", area_code=area, member_count=2
            )
            await apply_event(app, registered)
        yield app, client


@pytest.fixture
async def api(sqlite_url: Any) -> AsyncIterator[tuple[FastAPI, AsyncClient]]:
    async with ordering_app(await sqlite_url("subsidies")) as running:
        yield running


def plan(
    plan_id: UUID, income_id: UUID, shares: dict[UUID, int], period: str = "2020-06"
) -> IncomeDistributionApproved:
    return IncomeDistributionApproved(
        project_id=UUID(int=3), plan_id=plan_id, income_id=income_id, period=period, owner_area_code=TOWNSHIP,
        approved_by="plan-approver", shares=[PlanShare(household_id=h, amount_fen=fen) for h, fen in shares.items()],
    )  # fmt: skip


def payroll(payroll_id: UUID, allowances: dict[int, int], period: str = "2020-06") -> PayrollApproved:
    """A payroll paying member `n` of household `n` its allowance, for each n given."""
    lines = [
        PayrollLine(household_id=H[n], member_id=MEMBERS[n], post_id=POST, amount_fen=fen)
        for n, fen in allowances.items()
    ]
    return PayrollApproved(payroll_id=payroll_id, period=period, approved_by="payroll-approver", lines=lines)


async def published(app: FastAPI, kind: str) -> list[dict[str, Any]]:
    async with app.state.sessions() as s:
        rows = await s.scalars(select(OutboxMessage).order_by(col(OutboxMessage.id)))
        return [json.loads(m.payload) for m in rows.all() if m.event_type.endswith(f".{kind}.v1")]


async def counts(app: FastAPI) -> tuple[int, ...]:
    """Cycles, entitlements and payments."""
    async with app.state.sessions() as s:
        return tuple(
            [int(await s.scalar(select(func.count()).select_from(m)) or 0) for m in (Cycle, CycleEntitlement, Payment)]
        )


async def accounts(client: AsyncClient, households: list[UUID]) -> None:
    for n, household in enumerate(households):
        await add_payee(client, household, f"62170000{700 + n:010d}")


async def paid_in_full(client: AsyncClient, cycle_id: UUID) -> dict[UUID, dict[str, Any]]:
    """The cycle's next batch built, exported and every line paid by the bank: the lines, by household."""
    batch_id, lines = await exported_batch(client, str(cycle_id))
    imported = await import_file(client, batch_id, all_paid(lines))
    assert imported.status_code == 200, imported.text
    return lines


# --- An approved plan becomes an approved cycle -------------------------------------------------------------------


async def test_an_approved_plan_is_a_cycle_approved_already_listing_each_share(api: Any) -> None:
    app, client = api
    await apply_event(app, plan(PLAN_A, INCOME_A, {H[0]: 60_001, H[1]: 39_999}))

    r = await client.get(f"/v1/cycles/{PLAN_A}", headers=FINANCE)
    assert r.status_code == 200, r.text
    cycle = r.json()
    assert (cycle["programme_code"], cycle["period"], cycle["status"], cycle["origin"], cycle["order_ref"]) == (
        "project_income_share",
        "2020-06",
        "approved",
        "projects",
        str(PLAN_A),
    )
    assert (cycle["entitled_count"], cycle["total_fen"], cycle["approved_by"], cycle["submitted_by"]) == (
        2,
        100_000,
        "plan-approver",
        None,
    )
    listed = (await client.get(f"/v1/cycles/{PLAN_A}/entitlements", headers=FINANCE)).json()["items"]
    assert {(e["household_id"], e["member_id"], e["amount_fen"], e["area_code"]) for e in listed} == {
        (str(H[0]), None, 60_001, VILLAGE),
        (str(H[1]), None, 39_999, VILLAGE),
    }
    detail = (await client.get(f"/v1/cycles/{PLAN_A}/entitlements/{listed[0]['id']}", headers=FINANCE)).json()
    assert detail["facts"] == {
        "projects.plan_id": str(PLAN_A),
        "projects.income_id": str(INCOME_A),
        "projects.project_id": str(UUID(int=3)),
    }
    [why] = detail["explanation"]
    assert why["holds"] and "approved in projects by plan-approver" in why["reason"]
    assert await published(app, "cycle_approved") == []  # approved in projects, which published the decision


async def test_the_same_plan_again_changes_nothing(api: Any) -> None:
    app, _ = api
    approved = plan(PLAN_A, INCOME_A, {H[0]: 500})
    await apply_event(app, approved)
    before = await counts(app)
    await apply_event(app, approved)  # re-sent under a new event id
    await apply_event(app, plan(PLAN_A, INCOME_A, {H[0]: 500, H[1]: 700}))  # the plan's id is its cycle's
    assert await counts(app) == before == (1, 1, 0)


async def test_a_plans_shares_are_paid_each_published_with_the_plan_as_cycle(api: Any) -> None:
    app, client = api
    await apply_event(app, plan(PLAN_A, INCOME_A, {H[0]: 60_001, H[1]: 39_999}))
    await accounts(client, H[:2])

    await paid_in_full(client, PLAN_A)

    paid = await published(app, "subsidy_paid")
    assert {(e["household_id"], e["amount_fen"], e["cycle_id"], e["member_id"]) for e in paid} == {
        (str(H[0]), 60_001, str(PLAN_A), None),
        (str(H[1]), 39_999, str(PLAN_A), None),
    }
    assert {e["policy_code"] for e in paid} == {"project_income_share"}
    assert sum(e["amount_fen"] for e in paid) == 100_000  # every fen of the plan, once
    assert (await client.get(f"/v1/cycles/{PLAN_A}", headers=FINANCE)).json()["status"] == "paid"


async def test_two_plans_of_one_month_pay_one_household_both_shares(api: Any) -> None:
    app, client = api
    await apply_event(app, plan(PLAN_A, INCOME_A, {H[0]: 12_000}))
    await apply_event(app, plan(PLAN_B, INCOME_B, {H[0]: 8_000, H[1]: 1}))
    await accounts(client, H[:2])

    await paid_in_full(client, PLAN_A)
    await paid_in_full(client, PLAN_B)

    payments = (await client.get(f"/v1/payments?household_id={H[0]}", headers=FINANCE)).json()["items"]
    assert sorted((p["order_ref"], p["amount_fen"], p["status"]) for p in payments) == sorted(
        [(str(PLAN_A), 12_000, "paid"), (str(PLAN_B), 8_000, "paid")]
    )
    paid = await published(app, "subsidy_paid")
    assert sorted((e["cycle_id"], e["amount_fen"]) for e in paid if e["household_id"] == str(H[0])) == sorted(
        [(str(PLAN_A), 12_000), (str(PLAN_B), 8_000)]
    )


async def test_a_batch_pays_a_share_as_approved_never_judging_it_by_a_rule(api: Any) -> None:
    app, client = api
    await apply_event(app, plan(PLAN_A, INCOME_A, {H[0]: 5_000}))
    exited = HouseholdStatusChanged(
        household_id=H[0], from_status=HouseholdStatus.IN_POVERTY, to_status=HouseholdStatus.EXITED_NO_POLICIES,
        effective_on=date(2020, 5, 1), area_code=VILLAGE, reason="脱贫不享受政策", changed_by="township-1",
    )  # fmt: skip
    await apply_event(app, exited)  # the catalogue's programmes would stop paying it: the plan decided otherwise
    await accounts(client, H[:1])
    built = await build(client, str(PLAN_A))
    assert built.status_code == 201, built.text
    assert (built.json()["line_count"], built.json()["total_fen"], built.json()["withdrawn_count"]) == (1, 5_000, 0)


async def test_a_share_of_a_household_not_known_yet_waits_for_an_account_in_the_owners_area(api: Any) -> None:
    app, client = api
    stranger = UUID(int=799)
    await apply_event(app, plan(PLAN_A, INCOME_A, {stranger: 3_000, H[0]: 2_000}))
    [waiting] = [e for e in (await entitlements(client, PLAN_A)) if e["household_id"] == str(stranger)]
    assert waiting["area_code"] == TOWNSHIP  # placed in the plan owner's area until its household is known
    await accounts(client, H[:1])
    assert (await build(client, str(PLAN_A))).json()["awaiting_count"] == 1
    assert await awaiting(client, str(PLAN_A)) == {stranger: "no_payee"}

    registered = HouseholdRegistered(
        household_id=stranger, household_code="PO-9", area_code=OTHER_VILLAGE, member_count=1
    )
    await apply_event(app, registered)
    await add_payee(client, stranger, "621700009999999999")
    follow_up = await build(client, str(PLAN_A))
    assert follow_up.status_code == 201, follow_up.text
    assert set(await lines_of(client, follow_up.json()["id"])) == {stranger}
    [placed] = [e for e in (await entitlements(client, PLAN_A)) if e["household_id"] == str(stranger)]
    assert placed["area_code"] == OTHER_VILLAGE  # where its household lives, once known


async def entitlements(client: AsyncClient, cycle_id: UUID) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await client.get(f"/v1/cycles/{cycle_id}/entitlements", headers=FINANCE)).json()[
        "items"
    ]
    return items


async def test_a_share_reversed_by_hand_is_published_corrected_and_paid_again(api: Any) -> None:
    app, client = api
    await apply_event(app, plan(PLAN_A, INCOME_A, {H[0]: 4_321}))
    await accounts(client, H[:1])
    await paid_in_full(client, PLAN_A)
    [payment] = (await client.get(f"/v1/payments?household_id={H[0]}", headers=FINANCE)).json()["items"]
    body = {"kind": "reversal", "reason": "银行冲正: 款项未到账", "amount_fen": 4_321}
    reversed_ = await client.post(f"/v1/payments/{payment['id']}/corrections", json=body, headers=FINANCE)
    assert reversed_.status_code == 201, reversed_.text
    [corrected] = await published(app, "payment_corrected")
    assert (corrected["payment_id"], corrected["policy_code"], corrected["amount_fen"]) == (
        payment["id"],
        "project_income_share",
        4_321,
    )
    await paid_in_full(client, PLAN_A)  # the follow-up pays it again, into the same account
    assert [e["amount_fen"] for e in await published(app, "subsidy_paid")] == [4_321, 4_321]


# --- Payrolls ---------------------------------------------------------------------------------------------------


async def test_a_payroll_pays_each_post_holder_named_as_the_member(api: Any) -> None:
    app, client = api
    await apply_event(app, payroll(PAYROLL, {0: 60_000, 2: 29_032}))
    cycle = (await client.get(f"/v1/cycles/{PAYROLL}", headers=FINANCE)).json()
    assert (cycle["programme_code"], cycle["status"], cycle["order_ref"], cycle["total_fen"]) == (
        "public_welfare_job_subsidy",
        "approved",
        "",
        89_032,
    )
    await accounts(client, [H[0], H[2]])

    await paid_in_full(client, PAYROLL)

    paid = await published(app, "subsidy_paid")
    assert {(e["household_id"], e["member_id"], e["amount_fen"], e["cycle_id"]) for e in paid} == {
        (str(H[0]), str(MEMBERS[0]), 60_000, str(PAYROLL)),
        (str(H[2]), str(MEMBERS[2]), 29_032, str(PAYROLL)),
    }


async def test_a_second_payroll_of_a_month_is_refused_and_records_nothing(api: Any) -> None:
    app, _ = api
    await apply_event(app, payroll(PAYROLL, {0: 60_000}))
    with pytest.raises(Conflict) as refused:  # retried, then dead-lettered with the reason: never paid twice
        await apply_event(app, payroll(OTHER_PAYROLL, {1: 60_000}))
    assert refused.value.extensions["code"] == "payroll_exists" and str(PAYROLL) in str(refused.value)
    assert await counts(app) == (1, 1, 0)
    await apply_event(app, payroll(OTHER_PAYROLL, {1: 60_000}, period="2020-05"))  # another month: paid
    assert await counts(app) == (2, 2, 0)


# --- The catalogue decides nothing of these programmes ------------------------------------------------------------


@pytest.mark.parametrize("code", ["project_income_share", "public_welfare_job_subsidy"])
async def test_the_catalogue_refuses_to_decide_a_programme_projects_decides(api: Any, code: str) -> None:
    app, client = api
    period = {"period": "2020-06"}
    refused = [
        await client.post("/v1/cycles", json={"programme_code": code, **period}, headers=FINANCE),
        await client.post("/v1/coverage-checks", json={"policy_code": code, **period}, headers=FINANCE),
        await client.post("/v1/leakage-checks", json={"policy_code": code, **period}, headers=FINANCE),
        await client.get(f"/v1/households/{H[0]}/eligibility?programme={code}&period=2020-06", headers=FINANCE),
        await client.post(
            "/v1/payments",
            json={"household_id": str(H[0]), "policy_code": code, "amount_fen": 100, **period},
            headers={**FINANCE, "Idempotency-Key": f"hand-{code}"},
        ),
    ]
    standard = {"effective_from": "2021-01-01", "amount_fen": 1, "rule": [RECEIVES_POLICIES], "reason": "a standard"}
    no_standard = await client.post(f"/v1/programmes/{code}/versions", json=standard, headers=DIRECTOR)
    for response in refused:
        assert "decided_by_projects" in {e["code"] for e in assert_problem(response, 422)["errors"]}, response.text
    assert assert_problem(no_standard, 409)["code"] == "decided_by_projects"
    assert await counts(app) == (0, 0, 0)


async def test_a_plans_cycle_takes_no_step_of_the_catalogue(api: Any) -> None:
    app, client = api
    await apply_event(app, plan(PLAN_A, INCOME_A, {H[0]: 500}))
    for step, who in (("compute", FINANCE), ("submit", FINANCE), ("approve", DIRECTOR)):
        refused = assert_problem(await client.post(f"/v1/cycles/{PLAN_A}/{step}", headers=who), 409)
        assert (refused["code"], refused["cycle_status"]) == ("cycle_state", "approved")


CADENCE = Cadence(interval=timedelta(minutes=1), within=timedelta(days=92))


async def test_checks_leave_orders_cycles_alone(api: Any) -> None:
    app, client = api
    await apply_event(app, plan(PLAN_A, INCOME_A, {H[0]: 500}))
    await accounts(client, H[:1])
    await paid_in_full(client, PLAN_A)
    unnamed = await client.post("/v1/leakage-checks", json={"period": "2020-06"}, headers=FINANCE)
    assert (unnamed.status_code, unnamed.json()["payment_count"]) == (201, 0)  # its payments judged by no rule
    run = await run_cycle_checks(app.state.sessions, now=JULY_1 + timedelta(hours=1), cadence=CADENCE)
    assert (run.cycles, run.failed) == (0, 0)


async def test_a_plan_of_the_most_shares_is_listed_whole(api: Any) -> None:
    app, client = api
    shares = {UUID(int=10_000 + n): 1 + n % 7 for n in range(MAX_PLAN_SHARES - 1)} | {H[0]: 1}
    await apply_event(app, plan(PLAN_A, INCOME_A, shares))
    cycle = (await client.get(f"/v1/cycles/{PLAN_A}", headers=FINANCE)).json()
    assert (cycle["entitled_count"], cycle["total_fen"]) == (MAX_PLAN_SHARES, sum(shares.values()))
    async with app.state.sessions() as s:
        listed = await s.scalar(select(func.sum(col(CycleEntitlement.amount_fen))))
        known = await s.scalar(
            select(col(CycleEntitlement.area_code)).where(col(CycleEntitlement.household_id) == H[0])
        )
    assert (listed, known) == (sum(shares.values()), VILLAGE)

"""Projects' orders paid on real PostgreSQL: a plan's shares and a payroll's allowances paid through the bank, two
plans of one month both paid to one household, one payroll a month whatever arrives at once, the same order taken
once however often and however concurrently it comes, and the database's own keys holding a holder to one paid
payment per programme, period and plan."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from services.subsidies.domain import project_orders
from services.subsidies.models import Cycle, CycleEntitlement, Payment
from shared.errors import Conflict
from tests.support import apply_event
from tests.unit import test_subsidies_projects_orders as flows
from tests.unit.test_subsidies_projects_orders import (
    INCOME_A,
    OTHER_PAYROLL,
    PAYROLL,
    PLAN_A,
    H,
    counts,
    ordering_app,
    payroll,
    plan,
)

pytestmark = pytest.mark.integration
MakeDb = Callable[[str], Awaitable[str]]


async def test_a_plans_shares_are_paid_with_the_plan_as_cycle(pg_database: MakeDb) -> None:
    async with ordering_app(await pg_database("subsidies")) as running:
        await flows.test_a_plans_shares_are_paid_each_published_with_the_plan_as_cycle(running)


async def test_two_plans_of_one_month_pay_one_household_both(pg_database: MakeDb) -> None:
    async with ordering_app(await pg_database("subsidies")) as running:
        await flows.test_two_plans_of_one_month_pay_one_household_both_shares(running)


async def test_a_payroll_pays_its_holders_and_a_second_of_the_month_is_refused(pg_database: MakeDb) -> None:
    async with ordering_app(await pg_database("subsidies")) as running:
        await flows.test_a_payroll_pays_each_post_holder_named_as_the_member(running)
        app, _ = running
        with pytest.raises(Conflict):
            await apply_event(app, payroll(OTHER_PAYROLL, {1: 60_000}))
        assert await _cycles(app) == {PAYROLL}


async def test_the_same_plan_arriving_at_once_is_taken_once(pg_database: MakeDb) -> None:
    async with ordering_app(await pg_database("subsidies")) as (app, _):
        approved = plan(PLAN_A, INCOME_A, {H[0]: 60_001, H[1]: 39_999})
        await asyncio.gather(*(apply_event(app, approved) for _ in range(4)))  # redelivered while being taken
        assert await counts(app) == (1, 2, 0)


async def test_the_same_plan_taken_by_another_transaction_after_this_one_looked_is_answered_with_its_cycle(
    pg_database: MakeDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window of the redelivery above, made certain: the other transaction commits between this one's look-up of
    the order's cycle and its check of the month (each statement sees what was committed before it)."""
    async with ordering_app(await pg_database("subsidies")) as (app, _):
        approved = plan(PLAN_A, INCOME_A, {H[0]: 60_001, H[1]: 39_999})
        version_of = project_orders._version_of
        meanwhile: list[None] = []

        async def other_transaction_first(session: Any, order: Any) -> Any:
            if not meanwhile:
                meanwhile.append(None)
                await apply_event(app, approved)
            return await version_of(session, order)

        monkeypatch.setattr(project_orders, "_version_of", other_transaction_first)
        await apply_event(app, approved)
        assert meanwhile and await counts(app) == (1, 2, 0)


async def test_two_payrolls_of_a_month_arriving_at_once_make_one_cycle(pg_database: MakeDb) -> None:
    async with ordering_app(await pg_database("subsidies")) as (app, _):
        orders = [payroll(PAYROLL, {0: 60_000}), payroll(OTHER_PAYROLL, {1: 60_000, 2: 1})]
        outcomes = await asyncio.gather(*(apply_event(app, o) for o in orders), return_exceptions=True)
        refused = [o for o in outcomes if isinstance(o, Exception)]
        assert len(refused) == 1 and isinstance(refused[0], Conflict), outcomes
        assert refused[0].extensions["code"] == "payroll_exists"
        [kept] = await _cycles(app)
        async with app.state.sessions() as s:
            listed = await s.scalar(
                select(func.count()).select_from(CycleEntitlement).where(col(CycleEntitlement.cycle_id) == kept)
            )
        assert listed == (1 if kept == PAYROLL else 2)  # the refused payroll left nothing behind


async def test_a_holder_has_one_paid_payment_per_programme_period_and_plan(pg_database: MakeDb) -> None:
    async with ordering_app(await pg_database("subsidies")) as (app, _):
        first, second = str(uuid4()), str(uuid4())
        async with app.state.sessions() as s, s.begin():
            await s.execute(
                insert(Payment), [_paid("project_income_share", first), _paid("project_income_share", second)]
            )
            await s.execute(insert(Payment), [_paid("dibao", "")])
        for programme, order_ref in (("project_income_share", first), ("dibao", "")):
            with pytest.raises(IntegrityError):
                async with app.state.sessions() as s, s.begin():
                    await s.execute(insert(Payment), [_paid(programme, order_ref)])
        async with app.state.sessions() as s, s.begin():  # once reversed, the plan's share may be paid again
            await s.execute(insert(Payment), [_paid("project_income_share", first, status="reversed")])


def _paid(policy_code: str, order_ref: str, *, status: str = "paid") -> dict[str, Any]:
    return {
        "id": uuid4(), "household_id": H[0], "member_id": None, "holder_key": "-", "policy_code": policy_code,
        "period": "2020-06", "order_ref": order_ref, "amount_fen": 100, "idempotency_key": f"key-{uuid4()}",
        "status": status, "member_count": 2, "area_code": "371523101201", "paid_by": "cashier-1",
        "paid_at": datetime(2020, 6, 30, tzinfo=UTC),
    }  # fmt: skip


async def _cycles(app: Any) -> set[UUID]:
    async with app.state.sessions() as s:
        return set((await s.scalars(select(col(Cycle.id)))).all())

"""Money reaching households on real PostgreSQL: subsidies' events applied as the consumer applies them (one event
per transaction, or a batch of them in one), once per payment whatever is sent again, in one batch or racing in
two; corrections in either order; the income queries over many households (the relapse-risk sweep, statistics)
count the transfers and divide among the living."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select, update
from sqlmodel import col

from services.households.models import Household, RiskFlag, TransferReceipt
from shared.contracts import IntegrationEvent
from shared.contracts.subsidies import CorrectionKind, ProjectIncomeAllocated, SubsidyPaid, SubsidyPaymentCorrected
from shared.timeutil import district_today
from tests.support import apply_event, envelope_of, running_app
from tests.unit.test_households_helpers import OFFICE, VILLAGE, household, member, register

pytestmark = pytest.mark.integration
MakeDb = Callable[[str], Awaitable[str]]
THIS_YEAR = district_today().year


async def registered(client: Any, code: str, people: int = 2) -> UUID:
    members = [member(f"成员{n}", "head" if n == 0 else "son", date(1960 + n, 1, 1)) for n in range(people)]
    return UUID((await register(client, household(code, VILLAGE, *members)))["id"])


def paid(hid: UUID, amount_fen: int, period: str, payment_id: UUID | None = None) -> SubsidyPaid:
    return SubsidyPaid(
        household_id=hid, payment_id=payment_id or uuid4(), policy_code="dibao", period=period, amount_fen=amount_fen
    )


def recovered(payment: SubsidyPaid) -> SubsidyPaymentCorrected:
    return SubsidyPaymentCorrected(
        household_id=payment.household_id,
        payment_id=payment.payment_id,
        kind=CorrectionKind.REVERSAL,
        policy_code=payment.policy_code,
        period=payment.period,
        amount_fen=payment.amount_fen,
    )


async def apply_batch(app: Any, events: list[IntegrationEvent]) -> None:
    """Apply `events` in one transaction, as the consumer applies the events waiting on a partition."""
    applications = [app.state.runtime.handlers.bind(e.topic, envelope_of(e)) for e in events]
    async with app.state.sessions() as session, session.begin():
        for application in applications:
            await application(session)


async def transfer_income(client: Any, hid: UUID, year: int) -> int:
    r = await client.get(f"/v1/households/{hid}/income?year={year}", headers=OFFICE)
    assert r.status_code == 200, r.text
    return int(r.json()["transfer_income_fen"])


async def receipts(app: Any) -> int:
    async with app.state.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(TransferReceipt)) or 0)


async def test_a_batch_sent_again_counts_each_payment_once(pg_database: MakeDb) -> None:
    async with running_app("households", await pg_database("households")) as (app, client):
        hid = await registered(client, "PG-1")
        payments = [paid(hid, 25_800, f"2020-{m:02d}") for m in range(1, 7)]
        share = ProjectIncomeAllocated(
            household_id=hid, allocation_id=uuid4(), project_id=uuid4(), income_id=uuid4(), amount_fen=40_000
        )
        batch: list[IntegrationEvent] = [*payments, payments[0], share, share]  # re-sent within the batch too
        await apply_batch(app, batch)
        await apply_batch(app, batch)
        assert await transfer_income(client, hid, 2020) == 6 * 25_800
        assert await receipts(app) == 7


async def test_the_same_payment_racing_in_two_transactions_counts_once(pg_database: MakeDb) -> None:
    async with running_app("households", await pg_database("households")) as (app, client):
        hid = await registered(client, "PG-2")
        payment = paid(hid, 25_800, "2020-05")
        outcomes = await asyncio.gather(*(apply_event(app, payment) for _ in range(4)), return_exceptions=True)
        for outcome in outcomes:  # a loser's insert failed on the key: the consumer applies it again
            if isinstance(outcome, Exception):
                await apply_event(app, payment)
        assert await transfer_income(client, hid, 2020) == 25_800
        assert await receipts(app) == 1


async def test_a_correction_in_the_same_batch_or_before_its_payment_leaves_nothing_counted(
    pg_database: MakeDb,
) -> None:
    async with running_app("households", await pg_database("households")) as (app, client):
        hid = await registered(client, "PG-3")
        same_batch, early = paid(hid, 25_800, "2020-05"), paid(hid, 30_000, "2020-06")
        await apply_batch(app, [same_batch, recovered(same_batch), recovered(early)])
        await apply_batch(app, [early, recovered(same_batch)])
        assert await transfer_income(client, hid, 2020) == 0
        async with app.state.sessions() as s:
            statuses = (await s.scalars(select(TransferReceipt.status))).all()
        assert sorted(statuses) == ["corrected", "corrected"]


async def test_the_sweep_over_watched_households_counts_transfers_and_the_living(pg_database: MakeDb) -> None:
    """Setting this year's line flags every exited household under line + margin, in one query over all of them:
    the transfers lift one above it, a death lifts another's per-capita income."""
    async with running_app("households", await pg_database("households")) as (app, client):
        lifted, bereaved, poor = [await registered(client, f"SW-{n}") for n in range(3)]
        for hid in (lifted, bereaved, poor):
            record = {"year": THIS_YEAR, "source": "wages", "amount_fen": 800_000}
            assert (await client.post(f"/v1/households/{hid}/income-records", json=record, headers=OFFICE)).is_success
        await apply_event(app, paid(lifted, 300_000, f"{THIS_YEAR}-01"))
        son = next(
            m["id"]
            for m in (await client.get(f"/v1/households/{bereaved}", headers=OFFICE)).json()["members"]
            if m["relationship_to_head"] == "son"
        )
        death = {"died_on": (district_today() - timedelta(days=1)).isoformat(), "source": "民政殡葬"}
        r = await client.post(f"/v1/households/{bereaved}/members/{son}/death", json=death, headers=OFFICE)
        assert r.status_code == 201, r.text
        async with app.state.sessions() as s, s.begin():
            exited = update(Household).values(status="exited_receiving_policies")
            await s.execute(exited.where(col(Household.id).in_([lifted, bereaved, poor])))
        line = {"line_fen": 450_000, "monitoring_margin_fen": 100_000}
        assert (await client.put(f"/v1/poverty-lines/{THIS_YEAR}", json=line, headers=OFFICE)).status_code == 200
        async with app.state.sessions() as s:
            flagged = set((await s.scalars(select(RiskFlag.household_id))).all())
        # lifted: 1,100,000 / 2 = 550,000; bereaved: 800,000 / 1; poor: 800,000 / 2 = 400,000 (line + margin 550,000).
        assert flagged == {poor}
        stats = (await client.get(f"/v1/statistics?year={THIS_YEAR}", headers=OFFICE)).json()["total"]
        assert (stats["people"], stats["gaps"]["income"]) == (5, 1)

"""Bank results and corrections on real PostgreSQL: imports racing on one batch pay each entitlement once, a bad file
changes nothing, a return is reversed and followed up by a payment of its own, and two corrections of one payment
racing record one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from services.subsidies.models import BankResultImport, Payment, PaymentCorrection
from shared.contracts.subsidies import SubsidyPaid, SubsidyPaymentCorrected
from tests.support import assert_problem, running_app
from tests.unit.test_subsidies_corrections import RECOVERY, correct
from tests.unit.test_subsidies_reconciliation import (
    batch_and_cycle,
    events_of,
    follow_up,
    follow_up_of_a_return,
    import_file,
    line_statuses,
    result_file,
    seed_batch,
    snapshot,
)

pytestmark = pytest.mark.integration
MakeDb = Callable[[str], Awaitable[str]]


async def _count(sessions: Any, model: Any) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_imports_racing_on_one_batch_pay_each_entitlement_once(pg_database: MakeDb) -> None:
    async with running_app("subsidies", await pg_database("subsidies")) as (app, client):
        sessions = app.state.sessions
        seeded = await seed_batch(sessions, 40)
        everything = result_file([(line, "paid", "") for line in seeded.lines])
        half = result_file([(line, "paid", "") for line in seeded.lines[:20]])  # the same lines, as first reported

        responses = await asyncio.gather(
            import_file(client, seeded.batch_id, everything),
            import_file(client, seeded.batch_id, everything),
            import_file(client, seeded.batch_id, half),
        )

        assert [r.status_code for r in responses] == [200, 200, 200], [r.text for r in responses]
        assert responses[0].json()["id"] == responses[1].json()["id"]  # the same bytes: one import, replayed
        assert await _count(sessions, BankResultImport) == 2
        assert await _count(sessions, Payment) == 40
        assert len(await events_of(sessions, SubsidyPaid.event_type)) == 40
        assert await batch_and_cycle(sessions, seeded) == ("reconciled", "paid")


async def test_a_bad_file_changes_nothing_and_a_return_is_reversed_then_followed_up(pg_database: MakeDb) -> None:
    async with running_app("subsidies", await pg_database("subsidies")) as (app, client):
        sessions = app.state.sessions
        seeded = await seed_batch(sessions, 3)
        one, two, three = seeded.lines
        before = await snapshot(sessions)
        bad = result_file([(one, "paid", ""), (two, "paid", "")]).replace(b"774.00,paid,,B", b"774.01,paid,,B", 1)
        refused = assert_problem(await import_file(client, seeded.batch_id, bad), 422)
        assert [(e["field"], e["code"]) for e in refused["errors"]] == [("line 2", "amount_mismatch")]
        gbk = result_file([(one, "failed", "other")]).replace(b"other,,", "other,退回,".encode("gbk"))
        refused = assert_problem(await import_file(client, seeded.batch_id, gbk), 422)
        assert [(e["field"], e["code"]) for e in refused["errors"]] == [("line 2", "not_decodable")]
        assert await snapshot(sessions) == before

        paid = [(one, "paid", ""), (two, "failed", "account_closed"), (three, "paid", "")]
        assert (await import_file(client, seeded.batch_id, result_file(paid))).status_code == 200
        returned = result_file([(one, "returned", "account_frozen")], day="2020-06-18")
        assert (await import_file(client, seeded.batch_id, returned)).status_code == 200
        assert await line_statuses(sessions, seeded.batch_id) == [
            (1, "returned", "account_frozen"), (2, "failed", "account_closed"), (3, "paid", None)
        ]  # fmt: skip
        assert len(await events_of(sessions, SubsidyPaymentCorrected.event_type)) == 1

        later = await follow_up(sessions, seeded, [one, two])
        again = result_file([(later.lines[0], "paid", ""), (later.lines[1], "paid", "")], day="2020-06-20")
        assert (await import_file(client, later.batch_id, again)).status_code == 200
        async with sessions() as session:
            payments = (await session.execute(select(col(Payment.entitlement_id), col(Payment.status)))).all()
        assert sorted(status for _, status in payments) == ["paid", "paid", "paid", "reversed"]
        paid_to = sorted(str(entitlement) for entitlement, status in payments if status == "paid")
        assert paid_to == sorted(str(line.entitlement_id) for line in (one, two, three))
        assert await batch_and_cycle(sessions, later) == ("reconciled", "paid")


async def test_a_follow_up_of_a_returned_line_pays_the_entitlement_by_a_new_payment(pg_database: MakeDb) -> None:
    async with running_app("subsidies", await pg_database("subsidies")) as (app, client):
        await follow_up_of_a_return(app.state.sessions, client)


async def test_two_corrections_of_one_payment_racing_record_one(pg_database: MakeDb) -> None:
    async with running_app("subsidies", await pg_database("subsidies")) as (app, client):
        sessions = app.state.sessions
        seeded = await seed_batch(sessions, 1)
        await import_file(client, seeded.batch_id, result_file([(seeded.lines[0], "paid", "")]))
        async with sessions() as session:
            payment_id = (await session.scalars(select(col(Payment.id)))).one()

        responses = await asyncio.gather(*(correct(client, payment_id, RECOVERY) for _ in range(3)))

        assert sorted(r.status_code for r in responses) == [201, 409, 409]
        assert await _count(sessions, PaymentCorrection) == 1
        assert len(await events_of(sessions, SubsidyPaymentCorrected.event_type)) == 1

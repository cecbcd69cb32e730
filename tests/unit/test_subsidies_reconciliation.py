"""A bank's result file imported on a migrated SQLite file (回盘对账): paid lines become payments exactly once,
failed lines wait for a follow-up, returned lines are reversed; a bad file is refused line by line, changing
nothing. The batches are built here by inserting rows (`seed_batch`), as the bank's export would leave them."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col

from services.subsidies.models import (
    BankResultImport,
    BatchLine,
    Cycle,
    CycleEntitlement,
    DisbursementBatch,
    Payee,
    Payment,
    PaymentCorrection,
)
from services.subsidies.rules.bank_file import RESULT_HEADER, yuan
from shared.contracts.subsidies import SubsidyPaid, SubsidyPaymentCorrected
from shared.messaging.outbox import OutboxMessage
from tests.support import assert_problem, auth, running_app
from tests.unit.test_subsidies_batches import EXPORT, add_payee, build, built_batch, lines_of

FINANCE = auth("finance_officer", sub="cashier-1")
AT = datetime(2020, 6, 10, 8, tzinfo=UTC)
SETTLED = "2020-06-15"
AREA = "371523101201"


@dataclass(frozen=True)
class SeededLine:
    id: UUID
    line_no: int
    amount_fen: int
    entitlement_id: UUID
    household_id: UUID
    member_id: UUID | None


@dataclass(frozen=True)
class Seeded:
    cycle_id: UUID
    batch_id: UUID
    lines: list[SeededLine]


async def seed_batch(
    sessions: async_sessionmaker[Any],
    count: int = 3,
    *,
    programme: str = "dibao",
    period: str = "2020-06",
    amount_fen: int = 77_400,
    batch_status: str = "exported",
) -> Seeded:
    """An approved cycle of `count` household entitlements, each with a payee, and its first batch of pending
    lines, inserted as plain rows (fast enough for 100,000)."""
    cycle_id, batch_id, version_id = uuid4(), uuid4(), uuid4()
    entitlements: list[dict[str, Any]] = []
    payees, lines, seeded = [], [], []
    for n in range(1, count + 1):
        entitlement, household, payee, line = uuid4(), uuid4(), uuid4(), uuid4()
        entitlements.append(
            {
                "id": entitlement, "cycle_id": cycle_id, "household_id": household, "member_id": None,
                "holder_key": "-", "area_code": AREA, "amount_fen": amount_fen, "version_id": version_id,
                "status": "listed", "withdrawn_reason": None, "facts": {"household.member_count": 3},
                "explanation": [],
            }
        )  # fmt: skip
        payees.append(_payee(payee, household))
        lines.append(_line(line, batch_id, n, entitlement, payee, amount_fen))
        seeded.append(SeededLine(line, n, amount_fen, entitlement, household, None))
    async with sessions() as session, session.begin():
        await session.execute(
            insert(Cycle).values(
                id=cycle_id, programme_code=programme, period=period, version_id=version_id, status="approved",
                entitled_count=count, total_fen=count * amount_fen, created_by="preparer", created_at=AT,
            )
        )  # fmt: skip
        await session.execute(insert(CycleEntitlement), entitlements)
        await session.execute(insert(Payee), payees)
        await session.execute(
            insert(DisbursementBatch).values(
                id=batch_id, cycle_id=cycle_id, sequence=1, status=batch_status, line_count=count,
                total_fen=count * amount_fen, built_by="cashier-1", built_at=AT,
            )
        )  # fmt: skip
        await session.execute(insert(BatchLine), lines)
    return Seeded(cycle_id, batch_id, seeded)


async def follow_up(sessions: async_sessionmaker[Any], seeded: Seeded, again: Sequence[SeededLine]) -> Seeded:
    """A follow-up batch (sequence 2) of new pending lines for `again`'s entitlements, to corrected accounts."""
    batch_id = uuid4()
    lines, fresh = [], []
    for n, old in enumerate(again, start=1):
        line, payee = uuid4(), uuid4()
        lines.append(_line(line, batch_id, n, old.entitlement_id, payee, old.amount_fen))
        fresh.append(SeededLine(line, n, old.amount_fen, old.entitlement_id, old.household_id, old.member_id))
    async with sessions() as session, session.begin():
        await session.execute(
            insert(Payee), [_payee(line["payee_id"], old.household_id) for line, old in zip(lines, again, strict=True)]
        )
        await session.execute(
            insert(DisbursementBatch).values(
                id=batch_id, cycle_id=seeded.cycle_id, sequence=2, status="exported", line_count=len(lines),
                total_fen=sum(old.amount_fen for old in again), built_by="cashier-1", built_at=AT,
            )
        )  # fmt: skip
        await session.execute(insert(BatchLine), lines)
    return Seeded(seeded.cycle_id, batch_id, fresh)


def _payee(payee_id: UUID, household_id: UUID) -> dict[str, Any]:
    return {
        "id": payee_id, "household_id": household_id, "member_id": None, "holder_key": "-", "bank_code": "ABC",
        "account_kid": "k1", "account_ciphertext": b"sealed", "account_hash": payee_id.hex + payee_id.hex,
        "account_masked": "6217 **** **** 1234", "holder_name_ciphertext": b"sealed", "holder_name_masked": "张*",
        "holder_member_id": None, "recorded_by": "cashier-1", "recorded_at": AT, "replaced_at": None,
    }  # fmt: skip


def _line(line_id: UUID, batch_id: UUID, n: int, entitlement: UUID, payee: UUID, fen: int) -> dict[str, Any]:
    return {
        "id": line_id, "batch_id": batch_id, "line_no": n, "entitlement_id": entitlement, "payee_id": payee,
        "amount_fen": fen, "status": "pending", "bank_reason": None, "bank_reference": None, "settled_on": None,
    }  # fmt: skip


def result_file(rows: Iterable[tuple[SeededLine, str, str]], *, day: str = SETTLED, encoding: str = "utf-8") -> bytes:
    """The bank's result file reporting `rows` (line, status, reason), one bank serial per line."""
    text = [",".join(RESULT_HEADER)] + [
        f"{line.line_no},{line.id},{yuan(line.amount_fen)},{status},{reason},{_serial(line, status)},{day}"
        for line, status, reason in rows
    ]
    return "\r\n".join([*text, ""]).encode(encoding)


def _serial(line: SeededLine, status: str) -> str:
    """The bank's serial of a paid line."""
    return "B" + line.id.hex[:12] if status == "paid" else ""


async def import_file(
    client: httpx.AsyncClient,
    batch_id: UUID,
    data: bytes,
    *,
    encoding: str = "utf-8",
    headers: dict[str, str] = FINANCE,
) -> httpx.Response:
    return await client.post(
        f"/v1/batches/{batch_id}/bank-results",
        params={"encoding": encoding},
        content=data,
        headers={**headers, "content-type": "text/csv"},
    )


async def line_statuses(sessions: async_sessionmaker[Any], batch_id: UUID) -> list[tuple[int, str, str | None]]:
    async with sessions() as session:
        rows = await session.execute(
            select(col(BatchLine.line_no), col(BatchLine.status), col(BatchLine.bank_reason))
            .where(col(BatchLine.batch_id) == batch_id)
            .order_by(col(BatchLine.line_no))
        )
        return [(row.line_no, row.status, row.bank_reason) for row in rows]


async def batch_and_cycle(sessions: async_sessionmaker[Any], seeded: Seeded) -> tuple[str, str]:
    async with sessions() as session:
        batch = await session.get(DisbursementBatch, seeded.batch_id)
        cycle = await session.get(Cycle, seeded.cycle_id)
    return batch.status, cycle.status


async def snapshot(sessions: async_sessionmaker[Any]) -> dict[str, Any]:
    """Everything an import may change, to show that a refused one changed none of it."""
    async with sessions() as session:
        counts = {
            model.__name__: await session.scalar(select(func.count()).select_from(model))
            for model in (Payment, PaymentCorrection, BankResultImport, OutboxMessage)
        }
        lines = (await session.execute(select(col(BatchLine.id), col(BatchLine.status)))).all()
        batches = (await session.execute(select(col(DisbursementBatch.id), col(DisbursementBatch.status)))).all()
        cycles = (await session.execute(select(col(Cycle.id), col(Cycle.status)))).all()
    return {**counts, "lines": sorted(lines), "batches": sorted(batches), "cycles": sorted(cycles)}


async def events_of(sessions: async_sessionmaker[Any], event_type: str) -> list[dict[str, Any]]:
    async with sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(col(OutboxMessage.event_type) == event_type).order_by(col(OutboxMessage.id))
        )
        return [json.loads(row.payload) for row in rows]


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with running_app("subsidies", await sqlite_url("subsidies")) as (app, client):
        yield app.state.sessions, client


async def test_paid_lines_become_payments_and_failed_lines_keep_the_banks_reason(api: Any) -> None:
    sessions, client = api
    seeded = await seed_batch(sessions, 3)
    one, two, three = seeded.lines
    data = result_file([(one, "paid", ""), (two, "failed", "account_closed"), (three, "paid", "")])

    response = await import_file(client, seeded.batch_id, data)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["line_count"], body["paid_count"], body["failed_count"], body["returned_count"]) == (3, 2, 1, 0)
    assert body["imported_by"] == "cashier-1" and body["encoding"] == "utf-8"
    assert await line_statuses(sessions, seeded.batch_id) == [
        (1, "paid", None), (2, "failed", "account_closed"), (3, "paid", None)
    ]  # fmt: skip
    async with sessions() as session:
        payments = list((await session.scalars(select(Payment).order_by(col(Payment.amount_fen)))).all())
        line = await session.get(BatchLine, one.id)
        batch = await session.get(DisbursementBatch, seeded.batch_id)
    assert line is not None and line.bank_reference == "B" + one.id.hex[:12] and line.settled_on == date(2020, 6, 15)
    assert {p.batch_line_id for p in payments} == {one.id, three.id}
    paid = next(p for p in payments if p.batch_line_id == one.id)
    assert (paid.entitlement_id, paid.household_id, paid.holder_key, paid.policy_code, paid.period) == (
        one.entitlement_id, one.household_id, "-", "dibao", "2020-06"
    )  # fmt: skip
    assert (paid.amount_fen, paid.status, paid.member_count, paid.area_code) == (77_400, "paid", 3, AREA)
    assert paid.idempotency_key == f"line:{one.id}" and paid.paid_by == "cashier-1" and paid.payee_id is not None
    assert batch is not None and batch.status == "reconciled"  # no line awaits the bank
    published = await events_of(sessions, SubsidyPaid.event_type)
    assert {e["payment_id"] for e in published} == {str(p.id) for p in payments}
    assert {e["cycle_id"] for e in published} == {str(seeded.cycle_id)} and published[0]["version_id"]


async def test_the_cycle_is_paid_once_every_entitlement_is(api: Any) -> None:
    sessions, client = api
    seeded = await seed_batch(sessions, 2)
    one, two = seeded.lines
    assert (await import_file(client, seeded.batch_id, result_file([(one, "paid", "")]))).status_code == 200
    assert await batch_and_cycle(sessions, seeded) == ("exported", "approved")
    assert (await import_file(client, seeded.batch_id, result_file([(two, "paid", "")]))).status_code == 200
    assert await batch_and_cycle(sessions, seeded) == ("reconciled", "paid")


async def test_the_same_bytes_again_replay_the_first_import_and_pay_nothing_twice(api: Any) -> None:
    sessions, client = api
    seeded = await seed_batch(sessions, 2)
    data = result_file([(seeded.lines[0], "paid", ""), (seeded.lines[1], "failed", "name_mismatch")])
    first = await import_file(client, seeded.batch_id, data)
    before = await snapshot(sessions)

    again = await import_file(client, seeded.batch_id, data)

    assert again.status_code == 200 and again.headers["Idempotency-Replayed"] == "true"
    assert again.json() == first.json()
    assert "Idempotency-Replayed" not in first.headers
    assert await snapshot(sessions) == before


async def test_a_line_reported_again_in_another_file_changes_nothing(api: Any) -> None:
    sessions, client = api
    seeded = await seed_batch(sessions, 3)
    one, two, three = seeded.lines
    await import_file(client, seeded.batch_id, result_file([(one, "paid", ""), (two, "failed", "account_frozen")]))
    before = await snapshot(sessions)

    # The bank's full file a day later: the two lines it already reported (as it reported them), and the third.
    known = result_file([(one, "paid", ""), (two, "failed", "account_frozen")])
    data = known + result_file([(three, "paid", "")], day="2020-06-16").split(b"\r\n", 1)[1]
    response = await import_file(client, seeded.batch_id, data)

    assert response.status_code == 200, response.text
    assert (response.json()["paid_count"], response.json()["duplicate_count"]) == (2, 0)
    after = await snapshot(sessions)
    assert after["Payment"] == before["Payment"] + 1  # the third line's only
    assert len(await events_of(sessions, SubsidyPaid.event_type)) == 2
    assert after["BankResultImport"] == 2


@pytest.mark.parametrize(
    ("first", "then", "code"),
    [
        ("failed", "paid", "paid_after_failed"),
        ("paid", "failed", "contradicts_paid"),
        ("failed", "returned", "contradicts_failed"),
        (None, "returned", "returned_before_paid"),
    ],
)
async def test_an_outcome_that_contradicts_an_earlier_one_is_refused(
    api: Any, first: str | None, then: str, code: str
) -> None:
    sessions, client = api
    seeded = await seed_batch(sessions, 2)
    one = seeded.lines[0]
    if first is not None:
        reason = "" if first == "paid" else "account_closed"
        assert (await import_file(client, seeded.batch_id, result_file([(one, first, reason)]))).status_code == 200
    before = await snapshot(sessions)

    reason = "" if then == "paid" else "other"
    refused = await import_file(client, seeded.batch_id, result_file([(one, then, reason)], day="2020-06-16"))

    body = assert_problem(refused, 422)
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("line 2", code)]
    assert await snapshot(sessions) == before


async def test_a_paid_line_returned_later_has_its_payment_reversed(api: Any) -> None:
    sessions, client = api
    seeded = await seed_batch(sessions, 2)
    one, two = seeded.lines
    await import_file(client, seeded.batch_id, result_file([(one, "paid", ""), (two, "paid", "")]))

    response = await import_file(
        client, seeded.batch_id, result_file([(one, "returned", "account_closed")], day="2020-06-18")
    )

    assert response.status_code == 200, response.text
    assert response.json()["returned_count"] == 1
    assert await line_statuses(sessions, seeded.batch_id) == [(1, "returned", "account_closed"), (2, "paid", None)]
    async with sessions() as session:
        payment = (await session.scalars(select(Payment).where(col(Payment.batch_line_id) == one.id))).one()
        correction = (await session.scalars(select(PaymentCorrection))).one()
        line = await session.get(BatchLine, one.id)
    assert payment.status == "reversed"
    assert (correction.payment_id, correction.kind, correction.amount_fen) == (payment.id, "reversal", 77_400)
    assert correction.reason == "returned by the bank: account_closed" and correction.recorded_by == "cashier-1"
    assert line is not None and line.settled_on == date(2020, 6, 18) and line.bank_reference  # the paid serial kept
    [corrected] = await events_of(sessions, SubsidyPaymentCorrected.event_type)
    assert (corrected["payment_id"], corrected["kind"], corrected["amount_fen"]) == (
        str(payment.id),
        "reversal",
        77_400,
    )

    again = await import_file(
        client, seeded.batch_id, result_file([(one, "returned", "account_closed")], day="2020-06-19")
    )
    assert again.status_code == 200 and len(await events_of(sessions, SubsidyPaymentCorrected.event_type)) == 1


async def test_a_return_dated_before_the_payment_is_refused(api: Any) -> None:
    sessions, client = api
    seeded = await seed_batch(sessions, 1)
    await import_file(client, seeded.batch_id, result_file([(seeded.lines[0], "paid", "")], day="2020-06-15"))
    refused = await import_file(
        client, seeded.batch_id, result_file([(seeded.lines[0], "returned", "other")], day="2020-06-14")
    )
    assert assert_problem(refused, 422)["errors"][0]["code"] == "bad_settled_on"


async def test_a_follow_up_pays_a_failed_entitlement_exactly_once(api: Any) -> None:
    sessions, client = api
    seeded = await seed_batch(sessions, 2)
    one, two = seeded.lines
    await import_file(client, seeded.batch_id, result_file([(one, "paid", ""), (two, "failed", "account_closed")]))
    later = await follow_up(sessions, seeded, [two])

    paid = await import_file(client, later.batch_id, result_file([(later.lines[0], "paid", "")]))
    assert paid.status_code == 200, paid.text
    # The first batch's failed line reported paid after all is refused: the follow-up's line paid it.
    refused = await import_file(client, seeded.batch_id, result_file([(two, "paid", "")], day="2020-06-16"))
    assert assert_problem(refused, 422)["errors"][0]["code"] == "paid_after_failed"

    async with sessions() as session:
        payments = list(
            (await session.scalars(select(Payment).where(col(Payment.entitlement_id) == two.entitlement_id))).all()
        )
        cycle = await session.get(Cycle, seeded.cycle_id)
    assert [p.batch_line_id for p in payments] == [later.lines[0].id]
    assert cycle is not None and cycle.status == "paid"


async def follow_up_of_a_return(sessions: async_sessionmaker[Any], client: httpx.AsyncClient) -> None:
    """A line paid, then returned, then paid by a follow-up's line: two payments, the returned one reversed with
    its correction, the follow-up's a new one (its own id and `SubsidyPaid`), each corrected once."""
    seeded = await seed_batch(sessions, 1)
    [one] = seeded.lines
    await import_file(client, seeded.batch_id, result_file([(one, "paid", "")]))
    await import_file(client, seeded.batch_id, result_file([(one, "returned", "name_mismatch")], day="2020-06-16"))
    later = await follow_up(sessions, seeded, [one])
    [two] = later.lines

    response = await import_file(client, later.batch_id, result_file([(two, "paid", "")], day="2020-06-17"))

    assert response.status_code == 200, response.text
    async with sessions() as session:
        payments = {p.batch_line_id: p for p in (await session.scalars(select(Payment))).all()}
        [reversal] = (await session.scalars(select(PaymentCorrection))).all()
    returned, repaid = payments[one.id], payments[two.id]
    assert len(payments) == 2 and returned.id != repaid.id
    assert (returned.status, returned.idempotency_key) == ("reversed", f"line:{one.id}")
    assert (repaid.status, repaid.idempotency_key) == ("paid", f"line:{two.id}")
    assert returned.entitlement_id == repaid.entitlement_id == one.entitlement_id
    assert (reversal.payment_id, reversal.kind) == (returned.id, "reversal")
    paid_events = await events_of(sessions, SubsidyPaid.event_type)
    assert [e["payment_id"] for e in paid_events] == [str(returned.id), str(repaid.id)]

    corrections = f"/v1/payments/{repaid.id}/corrections"
    recovery = {"kind": "recovery", "reason": "户籍核查: 该户已迁出本区", "amount_fen": repaid.amount_fen}
    assert (await client.post(corrections, json=recovery, headers=FINANCE)).status_code == 201
    again = await client.post(f"/v1/payments/{returned.id}/corrections", json=recovery, headers=FINANCE)
    assert assert_problem(again, 409)["code"] == "corrected"
    assert assert_problem(await client.post(corrections, json=recovery, headers=FINANCE), 409)["code"] == "corrected"
    corrected = await events_of(sessions, SubsidyPaymentCorrected.event_type)
    assert [(e["payment_id"], e["kind"]) for e in corrected] == [
        (str(returned.id), "reversal"), (str(repaid.id), "recovery")
    ]  # fmt: skip


async def test_a_follow_up_of_a_returned_line_pays_the_entitlement_by_a_new_payment(api: Any) -> None:
    await follow_up_of_a_return(*api)


async def test_a_paid_cycle_is_not_closed_while_a_follow_up_line_awaits_the_bank(api: Any) -> None:
    sessions, client = api
    seeded = await seed_batch(sessions, 1)
    [one] = seeded.lines
    await import_file(client, seeded.batch_id, result_file([(one, "paid", "")]))
    await import_file(client, seeded.batch_id, result_file([(one, "returned", "account_frozen")], day="2020-06-16"))
    later = await follow_up(sessions, seeded, [one])
    assert await batch_and_cycle(sessions, seeded) == ("reconciled", "paid")
    close = f"/v1/cycles/{seeded.cycle_id}/close"

    refused = await client.post(close, headers=FINANCE)

    assert assert_problem(refused, 409)["code"] == "lines_pending"
    assert await batch_and_cycle(sessions, seeded) == ("reconciled", "paid")
    await import_file(client, later.batch_id, result_file([(later.lines[0], "paid", "")], day="2020-06-17"))
    closed = await client.post(close, headers=FINANCE)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"


async def test_a_holder_paid_by_hand_is_not_paid_again_by_the_bank_line(api: Any) -> None:
    sessions, client = api
    seeded = await seed_batch(sessions, 1)
    [one] = seeded.lines
    async with sessions() as session, session.begin():
        session.add(
            Payment(
                household_id=one.household_id, policy_code="dibao", period="2020-06", amount_fen=77_400,
                idempotency_key="by-hand", member_count=3, area_code=AREA, paid_by="cashier-2", paid_at=AT,
            )
        )  # fmt: skip
    refused = await import_file(client, seeded.batch_id, result_file([(one, "paid", "")]))
    assert assert_problem(refused, 422)["errors"][0]["code"] == "holder_paid_by_hand"


def _csv(*rows: str, header: str = ",".join(RESULT_HEADER), encoding: str = "utf-8") -> bytes:
    return "\r\n".join([header, *rows, ""]).encode(encoding)


def _bad_files(seeded: Seeded, other: Seeded) -> dict[str, tuple[bytes, list[tuple[str, str]]]]:
    """Each bad file (declared UTF-8) and the errors expected."""
    one, two, three = seeded.lines
    good, day = f"1,{one.id},774.00,paid,,B1,{SETTLED}", SETTLED
    return {
        "malformed CSV": (_csv(good, f'2,"{two.id},774.00,paid,,B2,{day}'), [("line 3", "malformed_line")]),
        "wrong header": (_csv(good, header="line,ref,amount"), [("line 1", "wrong_header")]),
        "stray quote in the header": (_csv(good, header='"' + ",".join(RESULT_HEADER)), [("line 1", "wrong_header")]),
        "unknown reference": (_csv(good, f"2,{uuid4()},774.00,paid,,B2,{day}"), [("line 3", "unknown_reference")]),
        "line of another batch": (_csv(f"1,{other.lines[0].id},774.00,paid,,B1,{day}"), [("line 2", "wrong_batch")]),
        "amount mismatch": (_csv(f"1,{one.id},774.01,paid,,B1,{day}"), [("line 2", "amount_mismatch")]),
        "line number mismatch": (_csv(f"2,{one.id},774.00,paid,,B1,{day}"), [("line 2", "line_no_mismatch")]),
        "bad status": (_csv(good, f"2,{two.id},774.00,done,,B2,{day}"), [("line 3", "bad_status")]),
        "bad reason": (_csv(f"2,{two.id},774.00,failed,broke,,{day}"), [("line 2", "bad_reason")]),
        "bad date": (_csv(f"1,{one.id},774.00,paid,,B1,15/06/2020"), [("line 2", "bad_settled_on")]),
        "date in the future": (_csv(f"1,{one.id},774.00,paid,,B1,2199-01-01"), [("line 2", "bad_settled_on")]),
        "duplicate line": (_csv(good, good), [("line 3", "duplicate_line")]),
        "GBK declared UTF-8": (
            _csv(good, f"2,{two.id},774.00,failed,other,退回,{day}", encoding="gbk"),
            [("line 3", "not_decodable")],
        ),
        "empty file": (b"", [("file", "empty_file")]),
        "header only": (_csv(), [("file", "empty_file")]),
        "every line bad": (
            _csv(
                f"1,{one.id},774.00,paid,,B1,x", f"2,{two.id},1.00,paid,,B2,{day}", f"3,{three.id},774.00,lost,,,{day}"
            ),
            [("line 2", "bad_settled_on"), ("line 3", "amount_mismatch"), ("line 4", "bad_status")],
        ),
    }


BAD_FILES = [
    "malformed CSV", "wrong header", "stray quote in the header", "unknown reference", "line of another batch",
    "amount mismatch", "line number mismatch", "bad status", "bad reason", "bad date", "date in the future",
    "duplicate line", "GBK declared UTF-8", "empty file", "header only", "every line bad",
]  # fmt: skip


@pytest.mark.parametrize("case", BAD_FILES)
async def test_a_bad_file_is_refused_line_by_line_and_changes_nothing(api: Any, case: str) -> None:
    sessions, client = api
    seeded, other = await seed_batch(sessions, 3), await seed_batch(sessions, 1, period="2020-07")
    data, expected = _bad_files(seeded, other)[case]
    before = await snapshot(sessions)

    response = await import_file(client, seeded.batch_id, data)

    body = assert_problem(response, 422)
    assert [(e["field"], e["code"]) for e in body["errors"]] == expected
    assert await snapshot(sessions) == before


async def test_a_file_of_many_bad_lines_lists_the_first_hundred_and_counts_them_all(api: Any) -> None:
    sessions, client = api
    seeded = await seed_batch(sessions, 150)
    data = result_file([(line, "paid", "") for line in seeded.lines], day="2199-12-31")
    body = assert_problem(await import_file(client, seeded.batch_id, data), 422)
    assert len(body["errors"]) == 100 and body["error_count"] == 150
    assert body["errors"][0]["field"] == "line 2" and body["errors"][-1]["field"] == "line 101"


async def test_a_gbk_file_is_read_when_declared(api: Any) -> None:
    sessions, client = api
    seeded = await seed_batch(sessions, 1)
    data = result_file([(seeded.lines[0], "paid", "")], encoding="gbk")
    response = await import_file(client, seeded.batch_id, data, encoding="gbk")
    assert response.status_code == 200 and response.json()["encoding"] == "gbk"


async def test_only_an_exported_batch_of_a_finance_officer_is_imported(api: Any) -> None:
    sessions, client = api
    built = await seed_batch(sessions, 1, batch_status="built")
    data = result_file([(built.lines[0], "paid", "")])
    assert assert_problem(await import_file(client, built.batch_id, data), 409)["code"] == "batch_state"
    assert_problem(await import_file(client, uuid4(), data), 404)
    district = auth("district_office", sub="office-1")
    assert_problem(await import_file(client, built.batch_id, data, headers=district), 403)
    assert_problem(await client.post(f"/v1/batches/{built.batch_id}/bank-results", content=data), 401)


async def test_the_imports_of_a_batch_are_listed_newest_first(api: Any) -> None:
    sessions, client = api
    seeded = await seed_batch(sessions, 2)
    one, two = seeded.lines
    await import_file(client, seeded.batch_id, result_file([(one, "paid", "")]))
    await import_file(client, seeded.batch_id, result_file([(two, "failed", "other")]))
    auditor = auth("auditor", sub="auditor-1")

    page = await client.get(f"/v1/batches/{seeded.batch_id}/bank-results", params={"limit": 1}, headers=auditor)
    rest = await client.get(
        f"/v1/batches/{seeded.batch_id}/bank-results", params={"cursor": page.json()["next_cursor"]}, headers=auditor
    )

    assert page.status_code == 200 and rest.status_code == 200
    counts = [(i["paid_count"], i["failed_count"]) for i in page.json()["items"] + rest.json()["items"]]
    assert counts == [(0, 1), (1, 0)] and rest.json()["next_cursor"] is None
    assert_problem(await client.get(f"/v1/batches/{uuid4()}/bank-results", headers=auditor), 404)


# --- With the bank's own batches and files ------------------------------------------------------------------------


def _answer(export: bytes, outcomes: dict[int, tuple[str, str]], encoding: str = "gbk") -> bytes:
    """The bank's result for an exported file: each line paid unless `outcomes` says otherwise (by line_no)."""
    rows = list(csv.reader(io.StringIO(export.decode(encoding), newline="")))[1:]
    answered = [
        f"{row[0]},{row[6]},{row[4]},{status},{reason},{'S' + row[0] if status == 'paid' else ''},{SETTLED}"
        for row in rows
        for status, reason in [outcomes.get(int(row[0]), ("paid", ""))]
    ]
    return "\r\n".join([",".join(RESULT_HEADER), *answered, ""]).encode(encoding)


@pytest.fixture
async def bank(sqlite_url: Any) -> Any:
    async with running_app("subsidies", await sqlite_url("subsidies")) as (app, client):
        yield app, client


async def test_the_banks_file_answered_pays_its_lines_and_a_follow_up_pays_the_failed_one_once(bank: Any) -> None:
    app, client = bank
    sessions = app.state.sessions
    cycle_id, batch = await built_batch(app, client)
    export = await client.post(f"/v1/batches/{batch['id']}/bank-file", json=EXPORT, headers=FINANCE)
    assert export.status_code == 200, export.text

    imported = await import_file(
        client, UUID(batch["id"]), _answer(export.content, {2: ("failed", "account_closed")}), encoding="gbk"
    )

    assert imported.status_code == 200, imported.text
    assert (imported.json()["paid_count"], imported.json()["failed_count"]) == (3, 1)
    failed = await lines_of(client, batch["id"], "&status=failed")
    assert [line["line_no"] for line in failed] == [2]
    await add_payee(client, UUID(failed[0]["household_id"]), 2, version=1)  # the account corrected
    later = (await build(client, cycle_id)).json()
    export = await client.post(f"/v1/batches/{later['id']}/bank-file", json=EXPORT, headers=FINANCE)
    assert (
        await import_file(client, UUID(later["id"]), _answer(export.content, {}), encoding="gbk")
    ).status_code == 200
    async with sessions() as session:
        entitlements = (await session.scalars(select(col(Payment.entitlement_id)))).all()
        cycle = await session.get(Cycle, cycle_id)
    assert len(entitlements) == len(set(entitlements)) == 4
    assert cycle is not None and cycle.status == "paid"

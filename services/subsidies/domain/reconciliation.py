"""A bank's result file reconciled line by line (回盘对账): paid lines become payments, failed lines wait for a
follow-up batch, returned lines have their payment reversed, and a paid line the bank reports paid again under
another serial or on another day is a duplicate disbursement (重复支付): kept as a leak and published for audit, the
line staying paid once.

The whole file or nothing: every line is checked first (`rules/bank_results.py`, `rules/reconciliation.py`) and a
single error refuses it all. The same bytes imported again replay the first import (unique checksum per batch);
a line reported again in another file changes nothing. Each paid line makes a payment of its own (unique per bank
line), and an entitlement has at most one `paid` payment (a partial unique index), so whatever is retried or
re-imported an entitlement is paid once; a follow-up paying an entitlement whose payment the bank returned makes a
new payment, the returned one staying reversed with its correction. Bulk throughout: lines are read as plain rows and
changed by executemany statements in chunks, never as one ORM object each.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import Row, bindparam, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from services.subsidies import events
from services.subsidies.domain.batches import batch_of
from services.subsidies.domain.corrections import corrected_event
from services.subsidies.domain.cycles import cycle_of, mark_paid_if_settled
from services.subsidies.domain.leakage import keep_new_leaks, responsible_columns, with_approver
from services.subsidies.models import (
    BankResultImport,
    BatchLine,
    Cycle,
    CycleEntitlement,
    DisbursementBatch,
    Payment,
    PaymentCorrection,
)
from services.subsidies.rules.bank_file import BankFileEncoding, decode_file
from services.subsidies.rules.bank_results import ResultLine, parse_file, refusal
from services.subsidies.rules.reconciliation import Effect, LineState, Planned, plan
from services.subsidies.rules.vocabulary import BatchStatus, LineStatus, PaymentStatus
from shared.auth import Principal
from shared.contracts import IntegrationEvent
from shared.contracts.subsidies import CorrectionKind, LeakKind, SubsidyPaid
from shared.db import keyset
from shared.errors import Conflict, NotFound
from shared.ids import uuid7
from shared.messaging.outbox import OUTBOX, WAKE_RELAYS
from shared.timeutil import DISTRICT_TZ

CHUNK = 5_000
T = TypeVar("T")
_LINES = BatchLine.__table__  # type: ignore[attr-defined]
_PAYMENTS = Payment.__table__  # type: ignore[attr-defined]
_IMPORTABLE = (BatchStatus.EXPORTED, BatchStatus.RECONCILED)
# One statement per chunk of lines of one outcome; each line its own values (the bank's serial and day).
_SETTLE_LINE = (
    update(_LINES)
    .where(_LINES.c.id == bindparam("line_id"))
    .values(
        status=bindparam("new_status"),
        bank_reason=bindparam("reason"),
        bank_reference=func.coalesce(bindparam("reference"), _LINES.c.bank_reference),
        settled_on=bindparam("day"),
    )
)
# The household's living members as the entitlement's snapshot saw them, read in SQL (not the whole snapshot).
_MEMBER_COUNT = CycleEntitlement.facts["household.member_count"].as_integer().label("member_count")
_REVERSE_PAYMENT = (
    update(_PAYMENTS).where(_PAYMENTS.c.id == bindparam("payment_id")).values(status=PaymentStatus.REVERSED.value)
)


@dataclass(frozen=True)
class Importer:
    """Who imports, and when: what every row the import writes is stamped with."""

    actor: Principal
    now: datetime


async def import_bank_results(
    session: AsyncSession,
    batch_id: UUID,
    data: bytes,
    *,
    encoding: BankFileEncoding,
    actor: Principal,
    today: date,
    now: datetime,
) -> tuple[BankResultImport, bool]:
    """Import a batch's result file: (the import, newly imported). The same bytes again return the first import.

    NotFound for an unknown batch; Conflict `batch_state` before the batch's file was exported; InvalidInput with
    every line's error (nothing changed) for a file that does not decode, is malformed, or does not fit the batch.
    """
    batch = await batch_of(session, batch_id, for_update=True)  # two imports for one batch never interleave
    checksum = hashlib.sha256(data).hexdigest()
    earlier = await _import_with(session, batch.id, checksum)
    if earlier is not None:
        return earlier, False
    if batch.status not in _IMPORTABLE:
        raise Conflict(
            f"The batch's bank file was never exported (the batch is {batch.status}): the bank has no result for it.",
            code="batch_state",
        )
    lines, errors = parse_file(decode_file(data, encoding), today=today)
    cycle = await cycle_of(session, batch.cycle_id)
    planned, mismatches = plan(lines, await _line_states(session, batch.id, cycle, lines), batch_id=batch.id)
    if errors or mismatches:
        raise refusal(errors + mismatches)
    importer = Importer(actor, now)
    record = _import_record(batch.id, checksum, encoding, planned, importer)
    await _pay(session, cycle, [p.line for p in planned if p.effect is Effect.PAY], importer)
    await _fail(session, [p.line for p in planned if p.effect is Effect.FAIL])
    await _return(session, [p.line for p in planned if p.effect is Effect.RETURN], importer)
    await _paid_twice(session, cycle, record, [p for p in planned if p.effect is Effect.DUPLICATE])
    session.add(record)
    await _settle(session, batch, now)
    return record, True


async def list_imports(
    session: AsyncSession, batch_id: UUID, *, after: tuple[datetime, UUID] | None, limit: int
) -> list[BankResultImport]:
    """The result files imported for a batch, the newest first; NotFound for an unknown batch."""
    if await session.get(DisbursementBatch, batch_id) is None:
        raise NotFound("No batch has this id.")
    stmt = select(BankResultImport).where(col(BankResultImport.batch_id) == batch_id)
    columns = (col(BankResultImport.imported_at), col(BankResultImport.id))
    return list((await session.scalars(keyset(stmt, columns, after, limit=limit, descending=True))).all())


async def _import_with(session: AsyncSession, batch_id: UUID, checksum: str) -> BankResultImport | None:
    found = await session.scalars(
        select(BankResultImport).where(
            col(BankResultImport.batch_id) == batch_id, col(BankResultImport.checksum) == checksum
        )
    )
    return found.first()


# --- What the file's lines are checked against -------------------------------------------------------------------


async def _line_states(
    session: AsyncSession, batch_id: UUID, cycle: Cycle, lines: Sequence[ResultLine]
) -> dict[UUID, LineState]:
    """The state of every line the file names: the batch's own lines with their entitlement's payment, and any
    other batch's line named by mistake. Only the line's id is read as a UUID: the rest is decided in SQL."""
    rows = await session.execute(_batch_lines(batch_id, cycle))
    states = {row.id: _state_of(row, batch_id) for row in rows}
    strangers = [line.reference for line in lines if line.reference not in states]
    for chunk in _chunks(strangers):
        found = await session.execute(
            select(
                _LINES.c.id, _LINES.c.batch_id, _LINES.c.line_no, _LINES.c.amount_fen, _LINES.c.status,
                _LINES.c.settled_on,
            ).where(_LINES.c.id.in_(chunk))
        )  # fmt: skip
        states.update(
            {
                row.id: LineState(row.batch_id, row.line_no, row.amount_fen, LineStatus(row.status), row.settled_on)
                for row in found
            }
        )
    return states


def _batch_lines(batch_id: UUID, cycle: Cycle) -> Any:
    """The batch's lines, each with the payment it made (if any), whether its entitlement has a paid payment,
    and whether the holder has a paid payment of the cycle's programme and period made by hand."""
    entitlement, own, paid, by_hand = CycleEntitlement, aliased(Payment), aliased(Payment), aliased(Payment)
    entitlement_paid = exists().where(
        col(paid.entitlement_id) == _LINES.c.entitlement_id, col(paid.status) == PaymentStatus.PAID.value
    )
    paid_by_hand = exists().where(
        col(by_hand.household_id) == col(entitlement.household_id),
        col(by_hand.holder_key) == col(entitlement.holder_key),
        col(by_hand.policy_code) == cycle.programme_code,
        col(by_hand.period) == cycle.period,
        col(by_hand.entitlement_id).is_(None),
        col(by_hand.status) == PaymentStatus.PAID.value,
    )
    return (
        select(
            _LINES.c.id, _LINES.c.line_no, _LINES.c.amount_fen, _LINES.c.status, _LINES.c.settled_on,
            _LINES.c.bank_reference, col(own.status).label("payment_status"),
            entitlement_paid.label("entitlement_paid"),
            paid_by_hand.label("paid_by_hand"),
        )
        .select_from(_LINES)
        .join(entitlement, col(entitlement.id) == _LINES.c.entitlement_id)
        .outerjoin(own, col(own.batch_line_id) == _LINES.c.id)
        .where(_LINES.c.batch_id == batch_id)
    )  # fmt: skip


def _state_of(row: Any, batch_id: UUID) -> LineState:
    return LineState(
        batch_id=batch_id,
        line_no=row.line_no,
        amount_fen=row.amount_fen,
        status=LineStatus(row.status),
        settled_on=row.settled_on,
        bank_reference=row.bank_reference,
        payment_status=PaymentStatus(row.payment_status) if row.payment_status is not None else None,
        entitlement_paid=bool(row.entitlement_paid),
        holder_paid_by_hand=bool(row.paid_by_hand),
    )


# --- What the lines do --------------------------------------------------------------------------------------------


async def _pay(session: AsyncSession, cycle: Cycle, lines: list[ResultLine], importer: Importer) -> None:
    """Paid lines: the line paid and a payment of its own recorded (`SubsidyPaid`), a follow-up's line paying an
    entitlement whose earlier line the bank returned too: a new payment, with its own id."""
    for chunk in _chunks(lines):
        await _settle_lines(session, chunk, LineStatus.PAID)
        details = await session.execute(
            select(
                _LINES.c.id, _LINES.c.payee_id, _LINES.c.amount_fen, col(CycleEntitlement.id).label("entitlement_id"),
                col(CycleEntitlement.household_id), col(CycleEntitlement.member_id),
                col(CycleEntitlement.holder_key), col(CycleEntitlement.version_id), col(CycleEntitlement.area_code),
                _MEMBER_COUNT,
            )
            .join(CycleEntitlement, col(CycleEntitlement.id) == _LINES.c.entitlement_id)
            .where(_LINES.c.id.in_([line.reference for line in chunk]))
        )  # fmt: skip
        payments = [_payment_row(detail, cycle, importer) for detail in details]
        if payments:
            await session.execute(insert(_PAYMENTS), payments)
        await _publish(session, [_paid_event(row, cycle) for row in payments], importer.now)


def _payment_row(detail: Any, cycle: Cycle, importer: Importer) -> dict[str, Any]:
    """The payment a paid line records."""
    return {
        "id": uuid7(),
        "household_id": detail.household_id,
        "member_id": detail.member_id,
        "holder_key": detail.holder_key,
        "policy_code": cycle.programme_code,
        "period": cycle.period,
        "order_ref": cycle.order_ref,
        "amount_fen": detail.amount_fen,
        "idempotency_key": f"line:{detail.id}",
        "version_id": detail.version_id,
        "entitlement_id": detail.entitlement_id,
        "batch_line_id": detail.id,
        "payee_id": detail.payee_id,
        "status": PaymentStatus.PAID.value,
        "member_count": detail.member_count or 0,
        "area_code": detail.area_code,
        "paid_by": importer.actor.subject,
        "paid_at": importer.now,
    }


def _paid_event(row: dict[str, Any], cycle: Cycle) -> SubsidyPaid:
    """The payment's `SubsidyPaid`, built from values the database and the file's checks vouch for (ids, the
    cycle's programme and period, an amount above zero): a file's 100,000 events skip the contract's per-field
    validators, seconds of work that could refuse nothing here."""
    return SubsidyPaid.model_construct(
        household_id=row["household_id"],
        payment_id=row["id"],
        policy_code=row["policy_code"],
        period=row["period"],
        amount_fen=row["amount_fen"],
        member_id=row["member_id"],
        cycle_id=cycle.id,
        version_id=row["version_id"],
    )


async def _fail(session: AsyncSession, lines: list[ResultLine]) -> None:
    """Failed lines: failed with the bank's reason, for a follow-up batch once the account is corrected."""
    for chunk in _chunks(lines):
        await _settle_lines(session, chunk, LineStatus.FAILED)


async def _return(session: AsyncSession, lines: list[ResultLine], importer: Importer) -> None:
    """Returned lines (退回): the line returned and its payment reversed (冲正), with the bank's reason; the
    entitlement may then be paid by a follow-up batch."""
    for chunk in _chunks(lines):
        await _settle_lines(session, chunk, LineStatus.RETURNED)
        reasons = {line.reference: line.reason for line in chunk}
        payments = (
            await session.execute(
                select(
                    _PAYMENTS.c.id, _PAYMENTS.c.household_id, _PAYMENTS.c.policy_code, _PAYMENTS.c.period,
                    _PAYMENTS.c.amount_fen, _PAYMENTS.c.batch_line_id,
                ).where(_PAYMENTS.c.batch_line_id.in_(list(reasons)))
            )
        ).all()  # fmt: skip
        await session.execute(_REVERSE_PAYMENT, [{"payment_id": p.id} for p in payments])
        reversals = [_reversal(p, f"returned by the bank: {reasons[p.batch_line_id]}", importer) for p in payments]
        await session.execute(insert(PaymentCorrection), reversals)
        await _publish(session, [corrected_event(p, CorrectionKind.REVERSAL) for p in payments], importer.now)


async def _paid_twice(session: AsyncSession, cycle: Cycle, record: BankResultImport, duplicates: list[Planned]) -> None:
    """Lines already paid that the bank reports paid again under another serial or on another day: the money went
    out twice. The line stays as it was (paid once, its payment one); each is kept as a `duplicate_disbursement`
    leak of the line's payment, found by this import (`check_id`) on the import's day, and published for audit once
    per payment, naming the cycle's approver."""
    found_on = record.imported_at.astimezone(DISTRICT_TZ).date()  # the import's day in the district
    for chunk in _chunks(duplicates):
        reported = {p.line.reference: p.line for p in chunk}
        payments = (
            await session.execute(
                with_approver(
                    select(
                        _PAYMENTS.c.id, _PAYMENTS.c.household_id, _PAYMENTS.c.area_code, _PAYMENTS.c.batch_line_id,
                        _LINES.c.line_no, _LINES.c.bank_reference, _LINES.c.settled_on, *responsible_columns(),
                    )
                    .join(_LINES, _LINES.c.id == _PAYMENTS.c.batch_line_id)
                    .where(_PAYMENTS.c.batch_line_id.in_(list(reported)))
                )
            )
        ).all()  # fmt: skip
        leaks = [
            (p, LeakKind.DUPLICATE_DISBURSEMENT, _paid_twice_detail(p, reported[p.batch_line_id])) for p in payments
        ]
        await keep_new_leaks(session, record.id, cycle.programme_code, cycle.period, leaks, found_on=found_on)


def _paid_twice_detail(first: Row[Any], again: ResultLine) -> str:
    """The leak in words: the line, and both of the bank's reports of it (serials are the bank's, not personal)."""
    return (
        f"the bank reported line {first.line_no} paid again: {again.bank_reference or 'no serial'} on "
        f"{again.settled_on.isoformat()}, after {first.bank_reference or 'no serial'} on "
        f"{first.settled_on.isoformat() if first.settled_on else 'an unknown day'}"
    )


def _reversal(payment: Row[Any], reason: str, importer: Importer) -> dict[str, Any]:
    return {
        "id": uuid7(),
        "payment_id": payment.id,
        "kind": CorrectionKind.REVERSAL.value,
        "amount_fen": payment.amount_fen,
        "reason": reason,
        "recorded_by": importer.actor.subject,
        "recorded_at": importer.now,
    }


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _settle_lines(session: AsyncSession, lines: Sequence[ResultLine], status: LineStatus) -> None:
    await session.execute(
        _SETTLE_LINE,
        [
            {
                "line_id": line.reference,
                "new_status": status.value,
                "reason": line.reason.value if line.reason else None,
                "reference": line.bank_reference,
                "day": line.settled_on,
            }
            for line in lines
        ],
    )


async def _publish(session: AsyncSession, published: list[IntegrationEvent], now: datetime) -> None:
    """The events in the outbox, in one statement, in the import's transaction."""
    if not published:
        return
    await session.execute(insert(OUTBOX), events.outbox_rows(published, now=now))
    if session.bind.dialect.name == "postgresql":
        await session.execute(WAKE_RELAYS)


# --- The import's record and the batch's state --------------------------------------------------------------------


def _import_record(
    batch_id: UUID, checksum: str, encoding: BankFileEncoding, planned: list[Planned], importer: Importer
) -> BankResultImport:
    reported = Counter(p.line.status for p in planned if p.effect is not Effect.DUPLICATE)
    return BankResultImport(
        id=uuid7(),
        batch_id=batch_id,
        checksum=checksum,
        encoding=encoding,
        line_count=len(planned),
        paid_count=reported[LineStatus.PAID],
        failed_count=reported[LineStatus.FAILED],
        returned_count=reported[LineStatus.RETURNED],
        duplicate_count=sum(p.effect is Effect.DUPLICATE for p in planned),
        imported_by=importer.actor.subject,
        imported_at=importer.now,
    )


async def _settle(session: AsyncSession, batch: DisbursementBatch, now: datetime) -> None:
    """The batch is reconciled once no line awaits the bank; its cycle is then paid if every entitlement is."""
    pending = await session.scalar(
        select(func.count())
        .select_from(_LINES)
        .where(_LINES.c.batch_id == batch.id, _LINES.c.status == LineStatus.PENDING.value)
    )
    if pending:
        return
    batch.status = BatchStatus.RECONCILED
    await mark_paid_if_settled(session, batch.cycle_id, now)

"""Disbursement batches (代发批次) of an approved cycle and their bank files (代发文件).

The first batch holds every listed entitlement whose holder has an account in use; a follow-up batch (sequence 2,
3, ...) holds those whose last line failed or was returned and whose account was corrected since (the account in
use is not one the bank refused for them), those whose payment was reversed by hand (冲正: no account problem, the
same account will do), and those never batched that have an account now. Never an entitlement with a pending or
paid line: the partial unique index `uq_batchline_entitlement_live` refuses a second live line even to a build
racing this one; nor one whose holder was paid the programme and period by hand. A member's entitlement is paid
into the member's own account, or else into the household's. Every entitlement a build is about to batch is
first judged again on the facts known now, as at approval: a death, the end of 低保 or an exit without policies
reported since the approval withdraws it. A cycle of projects' order (an approved distribution plan or payroll) is
paid as approved: no rule of the catalogue judges it.

Bulk throughout: entitlements are read in keyset chunks of plain rows (by household and holder, the order of the
cycle's unique index) and lines inserted by executemany, never one ORM object each.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import Row, Select, Uuid, and_, bindparam, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.subsidies import events
from services.subsidies.domain import entitlement_lists as lists
from services.subsidies.domain.catalogue import programme_in_force
from services.subsidies.domain.cycles import cycle_of
from services.subsidies.models import (
    BankFileExport,
    BatchLine,
    Cycle,
    CycleEntitlement,
    DisbursementBatch,
    HouseholdFacts,
    Payee,
    Payment,
    Programme,
)
from services.subsidies.rules.bank_file import (
    BankFileEncoding,
    ExportLine,
    ExportWriter,
    bytes_checksum,
    checksum,
    encode_file,
    purpose_of,
)
from services.subsidies.rules.cycles import Judge
from services.subsidies.rules.payee_vault import PayeeVault
from services.subsidies.rules.vocabulary import (
    ACCOUNT_REFUSED,
    HOUSEHOLD_HOLDER,
    BatchStatus,
    CycleStatus,
    DecidedBy,
    EntitlementStatus,
    LineStatus,
)
from shared.contracts.subsidies import BankFileExported
from shared.db import keyset, one_of
from shared.errors import Conflict, InvalidInput, NotFound
from shared.ids import uuid7

CHUNK = 5_000
LIVE = (LineStatus.PENDING, LineStatus.PAID)
# A batch is built once the list is approved; a line returned after the cycle was marked paid is followed up too.
BATCHABLE = frozenset({CycleStatus.APPROVED, CycleStatus.PAID})
E = CycleEntitlement
_LINES = BatchLine.__table__  # type: ignore[attr-defined]  # core executemany: no ORM bookkeeping per line
_ENTITLEMENTS = E.__table__  # type: ignore[attr-defined]


class AwaitingReason(StrEnum):
    """Why a listed entitlement with no pending or paid line is not in a batch yet."""

    READY = "ready"  # an account is in use: the next batch takes it
    NO_PAYEE = "no_payee"  # neither the holder nor the household has an account in use
    ACCOUNT_NOT_CORRECTED = "account_not_corrected"  # the account in use is the one an earlier line failed on


@dataclass(frozen=True)
class BuiltBatch:
    batch: DisbursementBatch
    awaiting_count: int  # listed entitlements left out: no account, or the failed account not corrected yet
    withdrawn_count: int  # withdrawn when judged again before their line: no longer entitled on the facts known now
    amended_count: int  # judged again before their line: now entitled to less, paid that


@dataclass(frozen=True)
class BankFile:
    batch: DisbursementBatch
    content: bytes
    checksum: str  # sha256 of `content`, the bytes sent; the batch keeps the canonical (UTF-8) one
    encoding: BankFileEncoding


# --- Building ---------------------------------------------------------------------------------------------------


async def build_batch(session: AsyncSession, cycle_id: UUID, *, actor: str, now: datetime) -> BuiltBatch:
    """The cycle's next batch: every listed entitlement ready to pay (`AwaitingReason.READY`) and still entitled
    when judged again on the facts known now (`entitlement_lists.recheck_for_batch`: one no longer entitled is
    withdrawn, not batched; a cycle of projects' order is paid as approved), one pending line each, numbered from 1.
    InvalidInput `nothing_to_pay` when none is; Conflict `cycle_state` unless the cycle is approved (or paid, for a
    returned line)."""
    cycle = await cycle_of(session, cycle_id, for_update=True)  # two builds of one cycle run one after the other
    if cycle.status not in BATCHABLE:
        raise Conflict(
            f"The cycle is {cycle.status}: batches are built for an approved cycle.",
            code="cycle_state",
            cycle_status=cycle.status,
        )
    recheck = await _recheck_of(session, cycle)
    batch_id, line_no, total_fen, awaiting, withdrawn, amended = uuid7(), 0, 0, 0, 0, 0
    try:
        async for rows in _chunks(session, _holders(cycle.id)):
            earlier = await _earlier_lines(session, [row.id for row in rows])
            # Paid by hand (手工发放), with a payment not reversed or recovered: no batch pays them a second time.
            by_hand = await lists.paid_by_hand(session, cycle, {row.household_id for row in rows})
            ready = []
            for row in rows:
                live, payees = earlier.get(row.id, (False, set()))
                if live or (row.household_id, row.holder_key) in by_hand:
                    continue
                if reason_of(row.payee_id, account_used=row.payee_id in payees) is not AwaitingReason.READY:
                    awaiting += 1
                    continue
                ready.append(row)
            rechecked = await recheck(ready)
            withdrawn, amended = withdrawn + rechecked.withdrawn, amended + rechecked.amended
            lines = []
            for row in ready:
                if (amount := rechecked.pay.get(row.id)) is not None:
                    line_no, total_fen = line_no + 1, total_fen + amount
                    lines.append(_line(batch_id, line_no, row, amount))
            if lines:
                await session.execute(insert(_LINES), lines)
        if line_no == 0:
            raise _nothing_to_pay(awaiting, withdrawn)
        if withdrawn or amended:
            cycle.entitled_count, cycle.total_fen = await lists.listed_totals(session, cycle.id)
        batch = DisbursementBatch(
            id=batch_id,
            cycle_id=cycle.id,
            sequence=await _next_sequence(session, cycle.id),
            status=BatchStatus.BUILT,
            line_count=line_no,
            total_fen=total_fen,
            built_by=actor,
            built_at=now,
        )
        session.add(batch)
        await session.flush()
    except IntegrityError:
        # The cycle's lock keeps builds apart; a line that still collides with a live one (written some other way)
        # is refused by the index, and nothing of this build is kept.
        raise Conflict("Another batch of this cycle was built at the same time; build again.") from None
    return BuiltBatch(batch, awaiting, withdrawn, amended)


Recheck = Callable[[Sequence[Row[Any]]], Awaitable[lists.Rechecked]]


async def _recheck_of(session: AsyncSession, cycle: Cycle) -> Recheck:
    """How a build judges the entitlements it is about to batch: by the catalogue's version in force for the period
    (`entitlement_lists.recheck_for_batch`), or, for a cycle of projects' order, not at all: the approved plan or
    payroll is paid as approved. Its holders are placed in their household's area as subsidies knows it now (one
    listed before subsidies knew its household had the plan owner's area, or none)."""
    if cycle.origin == DecidedBy.PROJECTS:
        await session.execute(_PLACE_HOLDERS, {"b_cycle_id": cycle.id})

        async def as_approved(rows: Sequence[Row[Any]]) -> lists.Rechecked:
            return lists.Rechecked({row.id: row.amount_fen for row in rows}, 0, 0)

        return as_approved
    programme, version = await programme_in_force(session, cycle.programme_code, cycle.period)
    judge = Judge(version)

    async def by_the_catalogue(rows: Sequence[Row[Any]]) -> lists.Rechecked:
        return await lists.recheck_for_batch(session, cycle, programme, version, judge, rows)

    return by_the_catalogue


_KNOWN = col(HouseholdFacts.household_id) == _ENTITLEMENTS.c.household_id
_PLACE_HOLDERS = (
    update(_ENTITLEMENTS)
    .where(
        _ENTITLEMENTS.c.cycle_id == bindparam("b_cycle_id"),
        _ENTITLEMENTS.c.status == EntitlementStatus.LISTED.value,
        exists().where(_KNOWN),
    )
    .values(area_code=select(col(HouseholdFacts.area_code)).where(_KNOWN).scalar_subquery())
)


def _line(batch_id: UUID, line_no: int, row: Row[Any], amount_fen: int) -> dict[str, Any]:
    return {
        "id": uuid7(),
        "batch_id": batch_id,
        "line_no": line_no,
        "entitlement_id": row.id,
        "payee_id": row.payee_id,
        "amount_fen": amount_fen,
        "status": LineStatus.PENDING.value,
    }


def _nothing_to_pay(awaiting: int, no_longer_entitled: int) -> InvalidInput:
    """Nothing to batch. Entitlements found no longer entitled are named by count but stay listed (the refusal
    changes nothing): every build leaves them out again, and a cycle may be closed with them unpaid."""
    return InvalidInput(
        "No listed entitlement of the cycle is ready for a batch: each is in a pending or paid line, waits for an "
        "account (see the cycle's awaiting-batch list), or is no longer entitled on the facts known now.",
        errors=[
            {
                "field": "cycle",
                "message": f"{awaiting} entitlement(s) wait for an account, {no_longer_entitled} no longer entitled",
                "code": "nothing_to_pay",
            }
        ],
        awaiting_count=awaiting,
        no_longer_entitled_count=no_longer_entitled,
    )


async def _next_sequence(session: AsyncSession, cycle_id: UUID) -> int:
    last = await session.scalar(
        select(func.max(col(DisbursementBatch.sequence))).where(col(DisbursementBatch.cycle_id) == cycle_id)
    )
    return int(last or 0) + 1


def _account_in_use(holder_key: Any) -> Any:
    """The id of the account in use of the entitlement's household for `holder_key` (correlated), or NULL."""
    return (
        select(col(Payee.id))
        .where(
            col(Payee.household_id) == col(E.household_id),
            col(Payee.holder_key) == holder_key,
            col(Payee.replaced_at).is_(None),
        )
        .order_by(col(Payee.recorded_at).desc())
        .limit(1)
        .scalar_subquery()
    )


def _holders(cycle_id: UUID, *, area_code: str | None = None) -> Select[Any]:
    """The cycle's listed entitlements, each with the account it would be paid into (`payee_id`: the holder's own,
    else the household's; NULL: none)."""
    payee_id = func.coalesce(_account_in_use(col(E.holder_key)), _account_in_use(HOUSEHOLD_HOLDER))
    stmt = select(
        col(E.id), col(E.household_id), col(E.member_id), col(E.holder_key), col(E.area_code), col(E.amount_fen),
        payee_id.label("payee_id"),
    ).where(col(E.cycle_id) == cycle_id, col(E.status) == EntitlementStatus.LISTED)  # fmt: skip
    return stmt if area_code is None else stmt.where(col(E.area_code).startswith(area_code))


async def _earlier_lines(session: AsyncSession, entitlement_ids: list[UUID]) -> dict[UUID, tuple[bool, set[UUID]]]:
    """For each of these entitlements that has lines: whether one is live, and the accounts the bank refused (a
    line failed or returned on them). A line whose payment was reversed by hand names no refused account: a
    follow-up may pay the entitlement into the same one.

    Read apart from the entitlements rather than correlated with them: while a build inserts its lines, the
    planner's estimate of the lines table is the one before the build (empty, for a cycle's first batch), and a
    correlated NOT EXISTS would scan the growing table once per entitlement."""
    dialect = session.get_bind().dialect
    stmt = select(col(BatchLine.entitlement_id), col(BatchLine.payee_id), col(BatchLine.status)).where(
        one_of(dialect, col(BatchLine.entitlement_id), entitlement_ids, Uuid())
    )
    found: dict[UUID, tuple[bool, set[UUID]]] = {}
    for entitlement_id, payee_id, status in (await session.execute(stmt)).tuples():
        live, payees = found.get(entitlement_id, (False, set()))
        refused = {payee_id} if status in ACCOUNT_REFUSED else set()
        found[entitlement_id] = (live or status in LIVE, payees | refused)
    return found


def _awaiting_batch(cycle: Cycle, *, area_code: str | None) -> Select[Any]:
    """The cycle's listed entitlements with no pending or paid line whose holder was not paid by hand, with the
    account each would be paid into and whether an earlier line of the entitlement went to that very account
    (`account_used`: the bank refused it, failing or returning a line)."""
    live = exists().where(col(BatchLine.entitlement_id) == col(E.id), col(BatchLine.status).in_(LIVE))
    by_hand = exists().where(
        lists.by_hand(cycle),
        col(Payment.household_id) == col(E.household_id),
        col(Payment.holder_key) == col(E.holder_key),
    )
    inner = _holders(cycle.id, area_code=area_code).where(~live, ~by_hand).subquery()
    used = exists().where(
        col(BatchLine.entitlement_id) == inner.c.id,
        col(BatchLine.payee_id) == inner.c.payee_id,
        col(BatchLine.status).in_(ACCOUNT_REFUSED),
    )
    return select(inner, used.label("account_used"))


def reason_of(payee_id: UUID | None, *, account_used: bool) -> AwaitingReason:
    """Why an entitlement with no live line is (not) in the next batch."""
    if payee_id is None:
        return AwaitingReason.NO_PAYEE
    return AwaitingReason.ACCOUNT_NOT_CORRECTED if account_used else AwaitingReason.READY


def _where_reason(stmt: Select[Any], reason: AwaitingReason) -> Select[Any]:
    """`_awaiting_batch` narrowed to one reason."""
    inner = stmt.selected_columns
    conditions = {
        AwaitingReason.NO_PAYEE: inner.payee_id.is_(None),
        AwaitingReason.ACCOUNT_NOT_CORRECTED: and_(inner.payee_id.is_not(None), inner.account_used),
        AwaitingReason.READY: and_(inner.payee_id.is_not(None), ~inner.account_used),
    }
    return stmt.where(conditions[reason])


async def _chunks(session: AsyncSession, stmt: Select[Any]) -> AsyncIterator[Sequence[Row[Any]]]:
    """`stmt` (of `_holders`) in keyset chunks by household and holder (the order of the cycle's unique index)."""
    after: tuple[Any, ...] | None = None
    key = [stmt.selected_columns.household_id, stmt.selected_columns.holder_key]
    while rows := (await session.execute(keyset(stmt, key, after, limit=CHUNK))).all():
        yield rows
        after = (rows[-1].household_id, rows[-1].holder_key)


async def list_awaiting(
    session: AsyncSession,
    cycle_id: UUID,
    *,
    area_code: str | None,
    reason: AwaitingReason | None,
    after: tuple[UUID, str] | None,
    limit: int,
) -> list[Row[Any]]:
    """A page of the cycle's listed entitlements that no pending or paid line holds and no payment by hand paid, by
    household and holder."""
    stmt = _awaiting_batch(await cycle_of(session, cycle_id), area_code=area_code)
    if reason is not None:
        stmt = _where_reason(stmt, reason)
    key = [stmt.selected_columns.household_id, stmt.selected_columns.holder_key]
    return list((await session.execute(keyset(stmt, key, after, limit=limit))).all())


# --- The bank file ----------------------------------------------------------------------------------------------


async def export_bank_file(
    session: AsyncSession,
    batch_id: UUID,
    *,
    encoding: BankFileEncoding,
    reason: str,
    vault: PayeeVault,
    actor: str,
    now: datetime,
) -> BankFile:
    """The batch's bank file, the one place full account numbers leave the system: recorded (who, why, the
    checksum of the bytes sent) and published for audit's log. The same lines, accounts and programme give the same
    text every time: its canonical checksum (of the UTF-8 form) is kept on the batch at the first export and every
    later export, in either encoding, must match it (Conflict `file_changed`)."""
    batch = await batch_of(session, batch_id, for_update=True)
    cycle = await cycle_of(session, batch.cycle_id)
    text = await _file_text(session, batch, purpose_of(await _programme_name(session, cycle), cycle.period), vault)
    digest = checksum(text)
    if batch.checksum is not None and batch.checksum != digest:
        raise Conflict(
            "The batch's bank file no longer matches its first export (a line, an account or the programme's name "
            "changed); it is not exported.",
            code="file_changed",
        )
    content = encode_file(text, encoding)
    sent = bytes_checksum(content)
    batch.checksum = digest
    if batch.status == BatchStatus.BUILT:
        batch.status = BatchStatus.EXPORTED
    session.add(
        BankFileExport(
            batch_id=batch.id, encoding=encoding, checksum=sent, reason=reason, exported_by=actor, exported_at=now
        )
    )
    events.publish(
        session,
        BankFileExported(
            cycle_id=cycle.id,
            batch_id=batch.id,
            encoding=encoding,
            checksum=sent,
            line_count=batch.line_count,
            total_fen=batch.total_fen,
            exported_by=actor,
            reason=reason,
        ),
    )
    return BankFile(batch, content, sent, encoding)


async def _programme_name(session: AsyncSession, cycle: Cycle) -> str:
    programme = await session.get(Programme, cycle.programme_code)
    return programme.name if programme is not None else cycle.programme_code


async def _file_text(session: AsyncSession, batch: DisbursementBatch, purpose: str, vault: PayeeVault) -> str:
    writer = ExportWriter()
    stmt: Select[Any] = (
        select(
            col(BatchLine.id), col(BatchLine.line_no), col(BatchLine.amount_fen), col(Payee.id).label("payee_id"),
            col(Payee.account_kid), col(Payee.account_ciphertext), col(Payee.holder_name_ciphertext),
        )
        .join(Payee, col(Payee.id) == col(BatchLine.payee_id))
        .where(col(BatchLine.batch_id) == batch.id)
    )  # fmt: skip
    after: tuple[int] | None = None
    while rows := (await session.execute(keyset(stmt, [col(BatchLine.line_no)], after, limit=CHUNK))).all():
        writer.write(_export_line(batch.id, purpose, row, vault) for row in rows)
        after = (rows[-1].line_no,)
    return writer.text()


def _export_line(batch_id: UUID, purpose: str, row: Row[Any], vault: PayeeVault) -> ExportLine:
    try:
        payee = vault.open(row.account_kid, row.account_ciphertext, row.holder_name_ciphertext, payee_id=row.payee_id)
    except ValueError:
        raise Conflict(
            f"The account of line {row.line_no} cannot be opened (its key is no longer configured, or it was "
            "altered); nothing is exported.",
            code="payee_unreadable",
        ) from None
    return ExportLine(row.line_no, batch_id, payee.account_no, payee.holder_name, row.amount_fen, purpose, row.id)


# --- Reading ----------------------------------------------------------------------------------------------------


async def batch_of(session: AsyncSession, batch_id: UUID, *, for_update: bool = False) -> DisbursementBatch:
    """The batch, or NotFound; `for_update` locks its row until the transaction ends, so that an export, a result
    import and a correction of one of its payments never interleave."""
    stmt = select(DisbursementBatch).where(col(DisbursementBatch.id) == batch_id)
    stmt = stmt.execution_options(populate_existing=True)
    batch = (await session.scalars(stmt.with_for_update() if for_update else stmt)).one_or_none()
    if batch is None:
        raise NotFound("No batch has this id.")
    return batch


async def get_batch(session: AsyncSession, batch_id: UUID) -> DisbursementBatch:
    return await batch_of(session, batch_id)


async def list_batches(
    session: AsyncSession, cycle_id: UUID, *, after: tuple[int] | None, limit: int
) -> list[DisbursementBatch]:
    """A cycle's batches, by sequence (the first batch, then its follow-ups)."""
    await cycle_of(session, cycle_id)
    stmt = select(DisbursementBatch).where(col(DisbursementBatch.cycle_id) == cycle_id)
    stmt = keyset(stmt, [col(DisbursementBatch.sequence)], after, limit=limit)
    return list((await session.scalars(stmt)).all())


async def list_lines(
    session: AsyncSession,
    batch_id: UUID,
    *,
    status: LineStatus | None,
    area_code: str | None,
    after: tuple[int] | None,
    limit: int,
) -> list[Row[Any]]:
    """A batch's lines by line number, each with its holder and the masked account it was sent to."""
    await batch_of(session, batch_id)
    stmt = _lines(status=status, area_code=area_code).where(col(BatchLine.batch_id) == batch_id)
    return list((await session.execute(keyset(stmt, [col(BatchLine.line_no)], after, limit=limit))).all())


def _lines(*, status: LineStatus | None, area_code: str | None) -> Select[Any]:
    """Bank lines with their holder, the masked account each went to, and its cycle's programme and period."""
    stmt: Select[Any] = (
        select(
            BatchLine, col(E.household_id), col(E.member_id), col(E.holder_key), col(E.area_code),
            col(Payee.bank_code), col(Payee.account_masked), col(Payee.holder_name_masked),
            col(Cycle.id).label("cycle_id"), col(Cycle.programme_code), col(Cycle.period),
        )
        .join(E, col(E.id) == col(BatchLine.entitlement_id))
        .join(Payee, col(Payee.id) == col(BatchLine.payee_id))
        .join(Cycle, col(Cycle.id) == col(E.cycle_id))
    )  # fmt: skip
    if status is not None:
        stmt = stmt.where(col(BatchLine.status) == status)
    if area_code is not None:
        stmt = stmt.where(col(E.area_code).startswith(area_code))
    return stmt


async def list_all_lines(
    session: AsyncSession,
    *,
    status: LineStatus | None,
    programme_code: str | None,
    period: str | None,
    area_code: str | None,
    after: tuple[UUID, int] | None,
    limit: int,
) -> list[Row[Any]]:
    """Bank lines of every cycle, by batch and line number, of a status, a programme, a period, an area (a prefix):
    "every failed line this month" in one query."""
    stmt = _of_cycles(_lines(status=status, area_code=area_code), programme_code=programme_code, period=period)
    key = [col(BatchLine.batch_id), col(BatchLine.line_no)]
    return list((await session.execute(keyset(stmt, key, after, limit=limit))).all())


def _of_cycles(stmt: Select[Any], *, programme_code: str | None, period: str | None) -> Select[Any]:
    """`stmt` (joined to `Cycle`) narrowed to a programme's cycles, or a period's."""
    if programme_code is not None:
        stmt = stmt.where(col(Cycle.programme_code) == programme_code)
    if period is not None:
        stmt = stmt.where(col(Cycle.period) == period)
    return stmt


async def list_all_batches(
    session: AsyncSession,
    *,
    programme_code: str | None,
    period: str | None,
    status: BatchStatus | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[Row[Any]]:
    """Batches of every cycle, the newest built first, each with its cycle's programme and period."""
    stmt: Select[Any] = select(DisbursementBatch, col(Cycle.programme_code), col(Cycle.period)).join(
        Cycle, col(Cycle.id) == col(DisbursementBatch.cycle_id)
    )
    stmt = _of_cycles(stmt, programme_code=programme_code, period=period)
    if status is not None:
        stmt = stmt.where(col(DisbursementBatch.status) == status)
    key = [col(DisbursementBatch.built_at), col(DisbursementBatch.id)]
    return list((await session.execute(keyset(stmt, key, after, limit=limit, descending=True))).all())


async def list_exports(
    session: AsyncSession, batch_id: UUID, *, after: tuple[datetime, UUID] | None, limit: int
) -> list[BankFileExport]:
    """Who exported a batch's bank file, when, why and in which encoding, the first export first."""
    await batch_of(session, batch_id)
    stmt = select(BankFileExport).where(col(BankFileExport.batch_id) == batch_id)
    stmt = keyset(stmt, [col(BankFileExport.exported_at), col(BankFileExport.id)], after, limit=limit)
    return list((await session.scalars(stmt)).all())

"""Money that reaches a household from the other services, counted in the household's income for their year, so
that the income check against the line and the exit assessment see it: from `subsidies.events`, subsidies paid
(转移性收入), project-income shares (资产收益: a plan's share paid, or an allocation made before plans) and public-
welfare posts' allowances (工资性收入); from `projects.events`, workshops' wages (工资性收入).

One receipt per payment, allocation or wage id: an event sent again counts once. A correction (冲正, 追回) takes back
what was reversed or recovered; arriving before its payment (a payment dead-lettered and replayed later), it is
kept as awaiting that payment, which then counts only what was not corrected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.domain import monitoring
from services.households.models import Household, TransferReceipt
from services.households.rules.transfers import counted_fen, status_of
from services.households.rules.vocabulary import TransferKind
from shared.db import keyset
from shared.errors import NotFound

ACTOR = "subsidies"  # who a relapse-risk flag raised by a correction is recorded as raised by


@dataclass(frozen=True)
class Transfer:
    """What an event says about money reaching a household: a payment, an allocation, a wage, or a correction of a
    payment (`amount_fen` then what was taken back)."""

    receipt_id: UUID
    household_id: UUID
    kind: TransferKind
    year: int
    amount_fen: int
    received_at: datetime
    policy_code: str | None = None
    period: str | None = None
    project_id: UUID | None = None
    member_id: UUID | None = None
    cycle_id: UUID | None = None


async def _household(session: AsyncSession, household_id: UUID, *, lock: bool = False) -> Household:
    """The household; NotFound while its registration has not arrived (the event is retried)."""
    stmt = select(Household).where(col(Household.id) == household_id)
    household = (await session.scalars(stmt.with_for_update() if lock else stmt)).first()
    if household is None:
        raise NotFound("No household has this id.")
    return household


def _new_receipt(transfer: Transfer, *, paid_fen: int | None, corrected_fen: int, now: datetime) -> TransferReceipt:
    return TransferReceipt(
        receipt_id=transfer.receipt_id,
        household_id=transfer.household_id,
        kind=transfer.kind,
        year=transfer.year,
        policy_code=transfer.policy_code,
        period=transfer.period,
        project_id=transfer.project_id,
        member_id=transfer.member_id,
        cycle_id=transfer.cycle_id,
        paid_fen=paid_fen,
        corrected_fen=corrected_fen,
        counted_fen=counted_fen(paid_fen, corrected_fen),
        status=status_of(paid_fen, corrected_fen),
        received_at=transfer.received_at,
        recorded_at=now,
    )


async def receive(session: AsyncSession, transfer: Transfer, *, now: datetime) -> TransferReceipt:
    """Count a payment, an allocation or a wage in its year's income, once per id."""
    await _household(session, transfer.household_id)
    receipt = await session.get(TransferReceipt, transfer.receipt_id)
    if receipt is None:
        receipt = _new_receipt(transfer, paid_fen=transfer.amount_fen, corrected_fen=0, now=now)
    elif receipt.paid_fen is None:  # its correction came first
        receipt.paid_fen, receipt.year, receipt.received_at = transfer.amount_fen, transfer.year, transfer.received_at
        receipt.member_id = transfer.member_id  # a correction names neither the member nor the cycle
        receipt.cycle_id = transfer.cycle_id
        receipt.counted_fen = counted_fen(receipt.paid_fen, receipt.corrected_fen)
        receipt.status = status_of(receipt.paid_fen, receipt.corrected_fen)
    else:
        return receipt  # sent again
    session.add(receipt)
    return receipt


async def correct(session: AsyncSession, transfer: Transfer, *, now: datetime, today: date) -> TransferReceipt:
    """Take a reversed or recovered payment back out of its year's income, once per payment; this year's income now
    lower, an exited or monitored household under line + margin is flagged for relapse risk."""
    household = await _household(session, transfer.household_id, lock=True)
    receipt = await session.get(TransferReceipt, transfer.receipt_id)
    if receipt is not None and receipt.corrected_fen:
        return receipt  # sent again
    if receipt is None:
        receipt = _new_receipt(transfer, paid_fen=None, corrected_fen=transfer.amount_fen, now=now)
    else:
        receipt.corrected_fen = transfer.amount_fen
        receipt.counted_fen = counted_fen(receipt.paid_fen, receipt.corrected_fen)
        receipt.status = status_of(receipt.paid_fen, receipt.corrected_fen)
    session.add(receipt)
    await session.flush()  # the income check below reads it
    if receipt.year == today.year and receipt.paid_fen is not None:
        await monitoring.check_income(session, household, year=receipt.year, now=now, today=today, actor=ACTOR)
    return receipt


_ORDER = (col(TransferReceipt.received_at), col(TransferReceipt.receipt_id))


async def receipts_of(
    session: AsyncSession,
    household_id: UUID,
    *,
    year: int | None,
    kind: TransferKind | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[TransferReceipt]:
    """Up to `limit` of the household's receipts in (received_at, id) order after the cursor key."""
    stmt = select(TransferReceipt).where(col(TransferReceipt.household_id) == household_id)
    if year is not None:
        stmt = stmt.where(col(TransferReceipt.year) == year)
    if kind is not None:
        stmt = stmt.where(col(TransferReceipt.kind) == kind)
    return list((await session.scalars(keyset(stmt, _ORDER, after, limit=limit))).all())

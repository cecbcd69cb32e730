"""Cycles (发放周期): a programme's disbursement for one period, from draft to closed.

draft -> computed (the entitlement list) -> on_notice (公示, objections) -> submitted (by a preparer) -> approved
(by someone else, after eligibility is re-checked and the funds are checked) -> paid (every listed entitlement
paid) -> closed. Every step locks the cycle's row, so two steps on one cycle never interleave.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.subsidies import events
from services.subsidies.domain import entitlement_lists as lists
from services.subsidies.domain.catalogue import funds_available, programme_in_force
from services.subsidies.domain.policies import ensure_period_begun
from services.subsidies.models import (
    BatchLine,
    Cycle,
    CycleEntitlement,
    DisbursementBatch,
    Objection,
    Payment,
    Programme,
)
from services.subsidies.rules.cycles import (
    CycleStep,
    check_funds,
    check_notice_window,
    ensure_listed_any,
    ensure_notice_ended,
    ensure_objections_settled,
    ensure_separation,
    ensure_step,
)
from services.subsidies.rules.periods import period_year
from services.subsidies.rules.vocabulary import (
    CycleStatus,
    EntitlementStatus,
    LineStatus,
    ObjectionDecision,
    PaymentStatus,
)
from services.subsidies.schemas.cycles import CycleCreate
from shared.auth import Principal
from shared.contracts.subsidies import CycleApproved, PolicyCode
from shared.db import keyset
from shared.errors import Conflict, NotFound


async def cycle_of(session: AsyncSession, cycle_id: UUID, *, for_update: bool = False) -> Cycle:
    """The cycle, or NotFound; `for_update` locks its row until the transaction ends (a step on it)."""
    stmt = select(Cycle).where(col(Cycle.id) == cycle_id).execution_options(populate_existing=True)
    cycle = (await session.scalars(stmt.with_for_update() if for_update else stmt)).one_or_none()
    if cycle is None:
        raise NotFound("No cycle has this id.")
    return cycle


async def open_cycle(
    session: AsyncSession, data: CycleCreate, *, actor: Principal, today: date, now: datetime
) -> Cycle:
    """A draft cycle for a programme of the catalogue and a period of its frequency that has begun; one per
    programme and period (Conflict `cycle_exists`)."""
    programme, _ = await programme_in_force(session, data.programme_code, data.period, field="body.programme_code")
    ensure_period_begun(data.period, today=today)
    cycle = Cycle(
        programme_code=programme.code,
        period=data.period,
        status=CycleStatus.DRAFT,
        created_by=actor.subject,
        created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(cycle)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict("A cycle of this programme for this period already exists.", code="cycle_exists") from exc
    return cycle


async def compute(session: AsyncSession, cycle_id: UUID, *, actor: Principal, now: datetime) -> Cycle:
    """Compute (again) the cycle's entitlement list with the programme version in force for its period.

    A list on notice computed again goes back to `computed`: the changed list is posted again.
    """
    cycle = await cycle_of(session, cycle_id, for_update=True)
    ensure_step(cycle.status, CycleStep.COMPUTE)
    programme, version = await programme_in_force(session, cycle.programme_code, cycle.period)
    await lists.compute_list(session, cycle, programme, version)
    cycle.entitled_count, cycle.total_fen = await lists.listed_totals(session, cycle.id)
    cycle.version_id, cycle.status = version.id, CycleStatus.COMPUTED
    cycle.computed_by, cycle.computed_at = actor.subject, now
    cycle.notice_starts_on = cycle.notice_ends_on = None
    return cycle


async def post_notice(
    session: AsyncSession, cycle_id: UUID, *, starts_on: date, ends_on: date, today: date, notice_days: int
) -> Cycle:
    """Post the computed list for public notice (公示) from `starts_on` to `ends_on`, the objection window."""
    cycle = await cycle_of(session, cycle_id, for_update=True)
    ensure_step(cycle.status, CycleStep.POST_NOTICE)
    check_notice_window(starts_on, ends_on, today=today, notice_days=notice_days)
    ensure_listed_any(cycle.entitled_count)
    cycle.status, cycle.notice_starts_on, cycle.notice_ends_on = CycleStatus.ON_NOTICE, starts_on, ends_on
    return cycle


async def submit(session: AsyncSession, cycle_id: UUID, *, actor: Principal, today: date, now: datetime) -> Cycle:
    """Submit the list for approval once its notice has ended and every objection is settled."""
    cycle = await cycle_of(session, cycle_id, for_update=True)
    ensure_step(cycle.status, CycleStep.SUBMIT)
    ensure_notice_ended(cycle.notice_ends_on, today=today)
    ensure_objections_settled(*await _blocking_objections(session, cycle))
    cycle.status, cycle.submitted_by, cycle.submitted_at = CycleStatus.SUBMITTED, actor.subject, now
    return cycle


# Enough to name in one refusal: more are listed by `GET /v1/cycles/{id}/objections`.
_NAMED_OBJECTIONS = 100


async def _blocking_objections(session: AsyncSession, cycle: Cycle) -> tuple[list[UUID], list[UUID]]:
    """The objections that block submission: (undecided, upheld for a household left out since the list was last
    computed)."""
    of_cycle = select(col(Objection.id)).where(col(Objection.cycle_id) == cycle.id).limit(_NAMED_OBJECTIONS)
    undecided = await session.scalars(of_cycle.where(col(Objection.decision).is_(None)))
    awaiting = await session.scalars(
        of_cycle.where(
            col(Objection.decision) == ObjectionDecision.UPHELD,
            col(Objection.entitlement_id).is_(None),
            col(Objection.decided_at) >= cycle.computed_at,
        )
    )
    return list(undecided.all()), list(awaiting.all())


async def approve(session: AsyncSession, cycle_id: UUID, *, actor: Principal, now: datetime) -> tuple[Cycle, int, int]:
    """Approve a submitted list (审批), by someone who neither computed nor submitted it, and publish it.

    Every listed entitlement is first re-checked against the facts known now and the version in force for the
    period: one no longer entitled or whose holder was already paid by hand is withdrawn, one whose amount changed
    (a member died) is amended. The list may then cost no more than the programme's funds left for the period's
    year, what was paid by hand counted once. Returns (cycle, withdrawn, amended).
    """
    cycle = await cycle_of(session, cycle_id, for_update=True)
    ensure_step(cycle.status, CycleStep.APPROVE)
    ensure_separation(actor.subject, submitted_by=cycle.submitted_by, computed_by=cycle.computed_by)
    # Approvals of one programme wait for each other (two could otherwise both fit the same funds) and for a new
    # standard of it: the version in force is read under the lock, so none is added behind the approval.
    lock = select(col(Programme.code)).where(col(Programme.code) == cycle.programme_code).with_for_update()
    await session.execute(lock)
    programme, version = await programme_in_force(session, cycle.programme_code, cycle.period)
    withdrawn, amended = await lists.recheck_list(session, cycle, programme, version)
    cycle.entitled_count, cycle.total_fen = await lists.listed_totals(session, cycle.id)
    check_funds(cycle.total_fen, await funds_available(session, cycle.programme_code, period_year(cycle.period)))
    cycle.version_id, cycle.status = version.id, CycleStatus.APPROVED
    cycle.approved_by, cycle.approved_at = actor.subject, now
    events.publish(
        session,
        CycleApproved(
            cycle_id=cycle.id,
            programme_code=cycle.programme_code,
            period=cycle.period,
            version_id=version.id,
            entitled_count=cycle.entitled_count,
            total_fen=cycle.total_fen,
            submitted_by=cycle.submitted_by or "",
            approved_by=actor.subject,
        ),
    )
    return cycle, withdrawn, amended


async def mark_paid_if_settled(session: AsyncSession, cycle_id: UUID, now: datetime) -> Cycle:
    """An approved cycle becomes `paid` once every listed entitlement has a paid bank line, or its holder a payment
    of the programme and period recorded by hand (which the batches left out); called after a bank result is
    reconciled. Otherwise, or in any other status, it is left as it is."""
    cycle = await cycle_of(session, cycle_id, for_update=True)
    if cycle.status != CycleStatus.APPROVED:
        return cycle
    paid_line = exists().where(
        col(BatchLine.entitlement_id) == col(CycleEntitlement.id), col(BatchLine.status) == LineStatus.PAID
    )
    paid_by_hand = exists().where(
        col(Payment.household_id) == col(CycleEntitlement.household_id),
        col(Payment.holder_key) == col(CycleEntitlement.holder_key),
        col(Payment.policy_code) == cycle.programme_code,
        col(Payment.period) == cycle.period,
        col(Payment.entitlement_id).is_(None),
        col(Payment.status) == PaymentStatus.PAID,
    )
    unpaid = await session.scalar(
        select(func.count())
        .select_from(CycleEntitlement)
        .where(
            col(CycleEntitlement.cycle_id) == cycle.id,
            col(CycleEntitlement.status) == EntitlementStatus.LISTED,
            ~paid_line,
            ~paid_by_hand,
        )
    )
    if unpaid == 0:
        cycle.status, cycle.paid_at = CycleStatus.PAID, now
    return cycle


async def close(session: AsyncSession, cycle_id: UUID, *, now: datetime) -> Cycle:
    """Close a paid or approved cycle none of whose bank lines still awaits the bank's result (what is left unpaid
    then stays unpaid in this cycle). A paid cycle may have one too: a follow-up of a line the bank returned."""
    cycle = await cycle_of(session, cycle_id, for_update=True)
    ensure_step(cycle.status, CycleStep.CLOSE)
    if await _pending_lines(session, cycle.id):
        raise Conflict("Some of the cycle's bank lines await the bank's result.", code="lines_pending")
    cycle.status, cycle.closed_at = CycleStatus.CLOSED, now
    return cycle


async def _pending_lines(session: AsyncSession, cycle_id: UUID) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(BatchLine)
        .join(DisbursementBatch, col(DisbursementBatch.id) == col(BatchLine.batch_id))
        .where(col(DisbursementBatch.cycle_id) == cycle_id, col(BatchLine.status) == LineStatus.PENDING)
    )
    return int(count or 0)


async def list_cycles(
    session: AsyncSession,
    *,
    programme_code: PolicyCode | None,
    period: str | None,
    status: CycleStatus | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[Cycle]:
    """Cycles, the newest first, by programme, period and status."""
    stmt = select(Cycle)
    if programme_code is not None:
        stmt = stmt.where(col(Cycle.programme_code) == programme_code)
    if period is not None:
        stmt = stmt.where(col(Cycle.period) == period)
    if status is not None:
        stmt = stmt.where(col(Cycle.status) == status)
    stmt = keyset(stmt, (col(Cycle.created_at), col(Cycle.id)), after, limit=limit, descending=True)
    return list((await session.scalars(stmt)).all())

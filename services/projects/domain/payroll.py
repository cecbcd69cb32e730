"""Payrolls of the public-welfare posts (公益岗位工资表): prepared, approved, paid through subsidies.

One payroll per month for the whole district: every holding live on some day of the month, each holder paid the
post's allowance pro rata for the days held (`rules/payroll.py`). Its approval publishes `PayrollApproved`;
subsidies pays each line as a cycle of `public_welfare_job_subsidy` whose id is the payroll's, and tells back what
it paid and what it took back.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import case, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects import events
from services.projects.domain.dates import refused
from services.projects.models import Payroll, PayrollLine, PostHolding, PublicWelfarePost
from services.projects.rules import dates
from services.projects.rules.payroll import Holding, Line, month_of, payroll_lines
from services.projects.rules.vocabulary import PayrollStatus, ShareStatus
from shared.auth import Principal
from shared.contracts.projects import MAX_PAYROLL_LINES, PayrollApproved
from shared.contracts.projects import PayrollLine as ApprovedLine
from shared.db import keyset
from shared.errors import Conflict, Forbidden, NotFound

_EXISTS = "The month has a payroll already."


async def prepare_payroll(
    session: AsyncSession, period: str, *, actor: Principal, today: date, now: datetime
) -> Payroll:
    """The month's payroll, once: a line per holder, inserted in one statement."""
    if not dates.period_begun(period, today=today):
        raise refused("period", "a payroll is prepared for a month that has begun", "period_not_begun")
    if await session.scalar(select(col(Payroll.id)).where(col(Payroll.period) == period)) is not None:
        raise Conflict(_EXISTS, code="payroll_exists")
    lines = payroll_lines(await _holdings(session, period), period)
    if not lines:
        raise Conflict(f"No post was held on any day of {period}.", code="nothing_to_pay")
    if len(lines) > MAX_PAYROLL_LINES:
        raise Conflict(f"A payroll pays at most {MAX_PAYROLL_LINES} holders.", code="too_many_lines")
    payroll = Payroll(
        period=period,
        status=PayrollStatus.PREPARED.value,
        line_count=len(lines),
        total_fen=sum(line.amount_fen for line in lines),
        prepared_by=actor.subject,
        prepared_at=now,
    )
    session.add(payroll)
    try:
        await session.flush([payroll])
    except IntegrityError as exc:  # prepared meanwhile by a concurrent request
        raise Conflict(_EXISTS, code="payroll_exists") from exc
    await session.execute(insert(PayrollLine), [_row(payroll.id, line) for line in lines])
    return payroll


async def _holdings(session: AsyncSession, period: str) -> list[Holding]:
    first, last = month_of(period)
    rows = await session.execute(
        select(
            col(PostHolding.id),
            col(PostHolding.post_id),
            col(PostHolding.household_id),
            col(PostHolding.member_id),
            col(PostHolding.started_on),
            col(PostHolding.ended_on),
            col(PublicWelfarePost.monthly_allowance_fen),
        )
        .join(PublicWelfarePost, col(PublicWelfarePost.id) == col(PostHolding.post_id))
        .where(
            col(PostHolding.started_on) <= last,
            or_(col(PostHolding.ended_on).is_(None), col(PostHolding.ended_on) >= first),
        )
        .order_by(col(PostHolding.member_id), col(PostHolding.started_on))
    )
    return [Holding(*row) for row in rows.tuples().all()]


def _row(payroll_id: UUID, line: Line) -> dict[str, Any]:
    return {
        "id": uuid4(),
        "payroll_id": payroll_id,
        "holding_id": line.holding_id,
        "post_id": line.post_id,
        "household_id": line.household_id,
        "member_id": line.member_id,
        "amount_fen": line.amount_fen,
        "status": ShareStatus.PLANNED.value,
    }


async def approve_payroll(session: AsyncSession, payroll_id: UUID, *, actor: Principal, now: datetime) -> Payroll:
    """A prepared payroll approved by someone other than its preparer; publishes `PayrollApproved`."""
    payroll = await _payroll(session, payroll_id, lock=True)
    if payroll.status != PayrollStatus.PREPARED:
        raise Conflict(f"The payroll is {payroll.status}.", code="payroll_state", payroll_status=payroll.status)
    if actor.subject == payroll.prepared_by:
        raise Forbidden("A payroll is approved by someone other than its preparer.", code="separation_of_duties")
    payroll.status, payroll.approved_by, payroll.approved_at = PayrollStatus.APPROVED.value, actor.subject, now
    lines = await session.scalars(
        select(PayrollLine).where(col(PayrollLine.payroll_id) == payroll.id).order_by(col(PayrollLine.member_id))
    )
    approved = [
        ApprovedLine(household_id=x.household_id, member_id=x.member_id, post_id=x.post_id, amount_fen=x.amount_fen)
        for x in lines.all()
    ]
    events.publish(
        session,
        PayrollApproved(payroll_id=payroll.id, period=payroll.period, approved_by=actor.subject, lines=approved),
    )
    return payroll


async def _payroll(session: AsyncSession, payroll_id: UUID, *, lock: bool = False) -> Payroll:
    payroll = await session.get(Payroll, payroll_id, with_for_update=lock)
    if payroll is None:
        raise NotFound("No payroll has this id.")
    return payroll


async def get_payroll(session: AsyncSession, payroll_id: UUID) -> Payroll:
    return await _payroll(session, payroll_id)


async def list_payrolls(
    session: AsyncSession, *, status: PayrollStatus | None, after: tuple[Any, ...] | None, limit: int
) -> list[Payroll]:
    """Payrolls, the latest month first."""
    stmt = select(Payroll) if status is None else select(Payroll).where(col(Payroll.status) == status.value)
    stmt = keyset(stmt, (col(Payroll.period), col(Payroll.id)), after, limit=limit, descending=True)
    return list((await session.scalars(stmt)).all())


async def lines_page(
    session: AsyncSession, payroll: Payroll, *, area_prefix: str, after: tuple[Any, ...] | None, limit: int
) -> list[PayrollLine]:
    """The payroll's lines of the posts within `area_prefix`, by member."""
    stmt = (
        select(PayrollLine)
        .join(PublicWelfarePost, col(PublicWelfarePost.id) == col(PayrollLine.post_id))
        .where(col(PayrollLine.payroll_id) == payroll.id, col(PublicWelfarePost.area_code).startswith(area_prefix))
    )
    return list((await session.scalars(keyset(stmt, (col(PayrollLine.member_id),), after, limit=limit))).all())


async def line_paid(
    session: AsyncSession, *, payroll_id: UUID, member_id: UUID, payment_id: UUID, amount_fen: int, now: datetime
) -> None:
    """Subsidies paid a holder's allowance (SubsidyPaid, cycle id = payroll id): the line is paid, and the payroll
    once every line is. Subsidies pays each line's own amount (its entitlement is the line), so the payroll counts
    the lines' amounts. The same payment told again, or a payroll this service never approved: nothing."""
    payroll = await session.get(Payroll, payroll_id, with_for_update=True)
    if payroll is None or payroll.status == PayrollStatus.PREPARED:
        return
    line = await session.scalar(
        select(PayrollLine).where(col(PayrollLine.payroll_id) == payroll_id, col(PayrollLine.member_id) == member_id)
    )
    if line is None or line.status == ShareStatus.PAID:
        return
    line.status, line.payment_id, line.paid_at = ShareStatus.PAID.value, payment_id, now
    await _settle(session, payroll, now)


async def line_reversed(session: AsyncSession, *, payment_id: UUID, now: datetime) -> None:
    """Subsidies reversed or recovered an allowance's payment; nothing when the payment is not a payroll's."""
    line = await session.scalar(select(PayrollLine).where(col(PayrollLine.payment_id) == payment_id))
    if line is None or line.status != ShareStatus.PAID:
        return
    payroll = await _payroll(session, line.payroll_id, lock=True)
    line.status = ShareStatus.REVERSED.value
    await _settle(session, payroll, now)


async def _settle(session: AsyncSession, payroll: Payroll, now: datetime) -> None:
    """The (locked) payroll's paid amount from its lines; paid when all are, approved again when one is not."""
    await session.flush()
    paid = col(PayrollLine.status) == ShareStatus.PAID.value
    paid_fen, unpaid = (
        await session.execute(
            select(
                func.coalesce(func.sum(case((paid, col(PayrollLine.amount_fen)), else_=0)), 0),
                func.count(case((~paid, 1))),
            ).where(col(PayrollLine.payroll_id) == payroll.id)
        )
    ).one()
    payroll.paid_fen = int(paid_fen)
    if unpaid == 0:
        payroll.status, payroll.paid_at = PayrollStatus.PAID.value, now
    elif payroll.status == PayrollStatus.PAID:
        payroll.status, payroll.paid_at = PayrollStatus.APPROVED.value, None

"""Payrolls of the public-welfare posts (公益岗位工资表): prepared, approved, paid through subsidies.

One payroll per month for the whole district, prepared by the finance office: every holding live on some day of
the month, each holder paid the post's allowance pro rata for the days held up to the holding's end or the holder's
death (`rules/payroll.py`). Its approval publishes `PayrollApproved`; subsidies pays each line as a cycle of
`public_welfare_job_subsidy` whose id is the payroll's, and tells back what it paid and what it took back. Every
change of the payroll's status publishes `PayrollStatusChanged`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import case, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects import events
from services.projects.domain.dates import refused
from services.projects.models import Payroll, PayrollLine, PostHolding, PublicWelfarePost, RollHousehold, RollMember
from services.projects.rules import dates
from services.projects.rules.payroll import Holding, Line, last_day, month_of, payroll_lines
from services.projects.rules.vocabulary import PayrollStatus, ShareStatus
from shared.auth import Principal
from shared.contracts.households import HouseholdStatus
from shared.contracts.projects import MAX_PAYROLL_LINES, PayrollApproved, PayrollStatusChanged
from shared.contracts.projects import PayrollLine as ApprovedLine
from shared.db import keyset
from shared.duties import ensure_someone_else
from shared.errors import Conflict, NotFound, RuleViolation
from shared.ids import uuid7

_EXISTS = "The month has a payroll already."
SUBSIDIES = "subsidies"  # who a payment told back, or its reversal, moved a payroll


async def prepare_payroll(
    session: AsyncSession, period: str, *, actor: Principal, today: date, now: datetime
) -> Payroll:
    """The month's payroll, once: a line per holder, inserted in one statement. Holders whose household exited
    without policies (as the roll stands when the payroll is prepared) get no line."""
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
    _changed(session, payroll, None, by=actor.subject)
    return payroll


async def _holdings(session: AsyncSession, period: str) -> list[Holding]:
    """The holdings that meet the month, of households not exited without policies, each to its last day (the
    holder's death ends it)."""
    first, last = month_of(period)
    rows = await session.execute(
        select(
            col(PostHolding.id),
            col(PostHolding.post_id),
            col(PostHolding.household_id),
            col(PostHolding.member_id),
            col(PostHolding.started_on),
            col(PostHolding.ended_on),
            col(RollMember.died_on),
            col(PublicWelfarePost.monthly_allowance_fen),
        )
        .join(PublicWelfarePost, col(PublicWelfarePost.id) == col(PostHolding.post_id))
        .join(RollHousehold, col(RollHousehold.household_id) == col(PostHolding.household_id))
        .outerjoin(RollMember, col(RollMember.member_id) == col(PostHolding.member_id))
        .where(
            col(PostHolding.started_on) <= last,
            or_(col(PostHolding.ended_on).is_(None), col(PostHolding.ended_on) >= first),
            col(RollHousehold.status) != HouseholdStatus.EXITED_NO_POLICIES.value,
        )
        .order_by(col(PostHolding.member_id), col(PostHolding.started_on))
    )
    return [
        Holding(holding, post, household, member, started_on, last_day(ended_on, died_on), allowance)
        for holding, post, household, member, started_on, ended_on, died_on, allowance in rows.tuples().all()
    ]


def _row(payroll_id: UUID, line: Line) -> dict[str, Any]:
    return {
        "id": uuid7(),
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
    ensure_someone_else(
        actor.subject, payroll.prepared_by, message="A payroll is approved by someone other than its preparer."
    )
    payroll.status, payroll.approved_by, payroll.approved_at = PayrollStatus.APPROVED.value, actor.subject, now
    _changed(session, payroll, PayrollStatus.PREPARED, by=actor.subject)
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
    once every line is. Subsidies pays each line's own amount (its entitlement is the line): another amount is a
    RuleViolation (the event is retried, then dead-lettered, for someone to look into). The same payment told
    again (also after its reversal), a line paid already (the first payment stays), or a payroll this service never
    approved: nothing."""
    payroll = await session.get(Payroll, payroll_id, with_for_update=True)
    if payroll is None or payroll.status == PayrollStatus.PREPARED:
        return
    line = await session.scalar(
        select(PayrollLine).where(col(PayrollLine.payroll_id) == payroll_id, col(PayrollLine.member_id) == member_id)
    )
    if line is None or line.payment_id == payment_id:
        return
    if amount_fen != line.amount_fen:
        raise RuleViolation(f"An allowance of {line.amount_fen} fen was paid {amount_fen} fen.")
    if line.status == ShareStatus.PAID:
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
    was = PayrollStatus(payroll.status)
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
    if payroll.status != was:
        _changed(session, payroll, was, by=SUBSIDIES)


def _changed(session: AsyncSession, payroll: Payroll, was: PayrollStatus | None, *, by: str) -> None:
    events.publish(
        session,
        PayrollStatusChanged(
            payroll_id=payroll.id,
            period=payroll.period,
            from_status=was,
            to_status=PayrollStatus(payroll.status),
            changed_by=by,
            total_fen=payroll.total_fen,
        ),
    )

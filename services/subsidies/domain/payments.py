"""Subsidy payments (补贴发放): at most one paid payment per holder (a household, or a member), programme and
period, with the facts they rest on. A payment reversed (冲正) or recovered (追回) no longer counts: the holder may
then be paid that programme and period again, by a new payment. A holder whose cycle's bank line is pending or paid
is not paid by hand: the bank pays them."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.subsidies import events
from services.subsidies.domain import one_off
from services.subsidies.domain.batches import LIVE
from services.subsidies.domain.catalogue import catalogued, ensure_decided_here, version_for
from services.subsidies.domain.policies import ensure_period_begun
from services.subsidies.models import (
    BatchLine,
    Cycle,
    CycleEntitlement,
    HouseholdFacts,
    MemberFacts,
    Payment,
    Programme,
)
from services.subsidies.rules.periods import check_period
from services.subsidies.rules.vocabulary import Frequency, ProgrammeUnit, holder_key
from services.subsidies.schemas.payments import PaymentCreate
from shared.auth import Principal
from shared.contracts.subsidies import SubsidyPaid
from shared.db import keyset
from shared.errors import Conflict, InvalidInput, NotFound


async def pay_subsidy(
    session: AsyncSession,
    data: PaymentCreate,
    *,
    key: str,
    actor: Principal,
    today: date,
    now: datetime,
) -> tuple[Payment, bool]:
    """Record a subsidy paid outside a cycle, under the programme version in force for the period: Conflict while
    the holder has a paid payment of the programme and period (by hand or by a cycle's bank line); once that one
    was reversed or recovered, a new payment is recorded. Conflict `bank_line_live` while the holder's line in the
    programme's cycle for the period is pending or paid; InvalidInput `decided_by_projects` for a programme paid
    only from projects' approved plans and payrolls. Whether the rule entitled the holder is not checked
    here: a leakage check flags a payment it did not (the payment was made; this records it).

    `key` is the payment's idempotency key, unique among all payments whoever made them. Returns (payment, newly
    paid): the same key with the same request returns the payment it made, whatever the day or the catalogue now.
    """
    earlier = await _payment_by_key(session, key)
    if earlier is not None:
        return _replayed(earlier, data), False
    programme = await catalogued(session, data.policy_code)
    ensure_decided_here(programme, field="body.policy_code")
    check_period(data.period, Frequency(programme.frequency))
    ensure_period_begun(data.period, today=today)
    version = await version_for(session, programme, data.period)
    household = await session.get(HouseholdFacts, data.household_id)
    if household is None:
        raise InvalidInput("The household is not a registered household (建档立卡户) known to subsidies.")
    await _ensure_holder(session, data, ProgrammeUnit(programme.unit))
    await _ensure_no_live_line(session, data)
    if Frequency(programme.frequency) is Frequency.ONE_OFF and (raced := await _once(session, programme, data, key)):
        return _replayed(raced, data), False
    payment = Payment(
        **data.model_dump(),
        holder_key=holder_key(data.member_id),
        version_id=version.id,
        idempotency_key=key,
        member_count=household.member_count,
        area_code=household.area_code,
        paid_by=actor.subject,
        paid_at=now,
    )
    try:
        # A savepoint, so a concurrent request that inserted first leaves this transaction usable to look it up.
        async with session.begin_nested():
            session.add(payment)
            await session.flush()
    except IntegrityError as exc:
        return await _paid_concurrently(session, data, key, exc), False
    events.publish(
        session,
        SubsidyPaid(
            household_id=payment.household_id,
            payment_id=payment.id,
            policy_code=payment.policy_code,
            period=payment.period,
            amount_fen=payment.amount_fen,
            member_id=payment.member_id,
            version_id=payment.version_id,
        ),
    )
    return payment, True


async def _ensure_holder(session: AsyncSession, data: PaymentCreate, unit: ProgrammeUnit) -> None:
    """A member programme pays a member of the household; a household programme pays the household itself."""
    if unit is ProgrammeUnit.HOUSEHOLD:
        if data.member_id is not None:
            raise _member_error("A household programme pays the household: name no member.", "member_not_expected")
        return
    if data.member_id is None:
        raise _member_error("A member programme pays a member: name the member paid.", "member_required")
    member = await session.get(MemberFacts, data.member_id)
    if member is None or member.household_id != data.household_id:
        raise _member_error("The member is not a member of the household known to subsidies.", "not_a_member")


async def _once(session: AsyncSession, programme: Programme, data: PaymentCreate, key: str) -> Payment | None:
    """A one-off programme pays a holder once (`rules/one_off.py`): Conflict `one_off_paid` when the holder was
    paid it, or another approved cycle lists them. Payments of the programme by hand wait for each other and for
    its approvals (its row is locked), so two cannot both pass; the payment a retry of this very request made
    meanwhile is returned."""
    await session.execute(select(col(Programme.code)).where(col(Programme.code) == programme.code).with_for_update())
    if (raced := await _payment_by_key(session, key)) is not None:
        return raced
    holder = (data.household_id, holder_key(data.member_id))
    had = await one_off.granted(session, programme, data.period, [data.household_id])
    if (reason := had.get(holder)) is not None:
        raise Conflict(f"This holder already has this one-off programme: {reason}.", code="one_off_paid")
    return None


async def _ensure_no_live_line(session: AsyncSession, data: PaymentCreate) -> None:
    """Conflict `bank_line_live` while the holder has a pending line (the bank may be paying it now) or a paid one in
    the cycle of the programme and period. The cycle's row is locked: a batch built meanwhile waits for this
    payment, then leaves the holder out (`domain/batches.py`)."""
    cycle_id = await session.scalar(
        select(col(Cycle.id))
        .where(col(Cycle.programme_code) == data.policy_code, col(Cycle.period) == data.period)
        .with_for_update()
    )
    if cycle_id is None:
        return
    live = await session.scalar(
        select(func.count())
        .select_from(BatchLine)
        .join(CycleEntitlement, col(CycleEntitlement.id) == col(BatchLine.entitlement_id))
        .where(
            col(CycleEntitlement.cycle_id) == cycle_id,
            col(CycleEntitlement.household_id) == data.household_id,
            col(CycleEntitlement.holder_key) == holder_key(data.member_id),
            col(BatchLine.status).in_(LIVE),
        )
    )
    if live:
        raise Conflict(
            "The holder's bank line of this programme and period is pending or paid: the bank pays it, not a "
            "payment by hand. Record one only once the bank reports it failed or returned.",
            code="bank_line_live",
        )


def _member_error(detail: str, code: str) -> InvalidInput:
    return InvalidInput(detail, errors=[{"field": "body.member_id", "message": detail, "code": code}])


async def _paid_concurrently(session: AsyncSession, data: PaymentCreate, key: str, exc: IntegrityError) -> Payment:
    """Another request committed first: a retry of it gets the original; anything else is a conflict."""
    earlier = await _payment_by_key(session, key)
    if earlier is None:
        raise Conflict("This subsidy is already paid to this holder for this period.") from exc
    return _replayed(earlier, data)


def _replayed(earlier: Payment, data: PaymentCreate) -> Payment:
    """The payment an idempotency key already made, if `data` asks for that same payment."""
    if not _same_request(earlier, data):
        raise Conflict("This Idempotency-Key was already used for a different payment.")
    return earlier


def _same_request(payment: Payment, data: PaymentCreate) -> bool:
    return (payment.household_id, payment.member_id, payment.policy_code, payment.period, payment.amount_fen) == (
        data.household_id,
        data.member_id,
        data.policy_code,
        data.period,
        data.amount_fen,
    )


async def _payment_by_key(session: AsyncSession, idempotency_key: str) -> Payment | None:
    rows = await session.scalars(select(Payment).where(col(Payment.idempotency_key) == idempotency_key))
    return rows.first()


async def get_payment(session: AsyncSession, payment_id: UUID) -> Payment:
    """A payment, or NotFound."""
    payment = await session.get(Payment, payment_id)
    if payment is None:
        raise NotFound("No payment has this id.")
    return payment


async def list_payments(
    session: AsyncSession,
    *,
    household_id: UUID | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
    status: str | None = None,
    policy_code: str | None = None,
    period: str | None = None,
    area_code: str | None = None,
) -> list[Payment]:
    """Payments, the newest first, optionally of one household, status, programme, period or area (a prefix)."""
    stmt = select(Payment)
    if household_id is not None:
        stmt = stmt.where(col(Payment.household_id) == household_id)
    for column, value in ((Payment.status, status), (Payment.policy_code, policy_code), (Payment.period, period)):
        if value is not None:
            stmt = stmt.where(col(column) == value)
    if area_code is not None:
        stmt = stmt.where(col(Payment.area_code).startswith(area_code, autoescape=True))
    stmt = keyset(stmt, (col(Payment.paid_at), col(Payment.id)), after, limit=limit, descending=True)
    return list((await session.scalars(stmt)).all())

"""Subsidy payments (补贴发放): exactly once per household, policy and period, with the facts they rest on."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.subsidies import events
from services.subsidies.domain.policies import ensure_known_policy, ensure_period_begun
from services.subsidies.models import EligibleHousehold, Payment
from services.subsidies.schemas.payments import PaymentCreate
from shared.auth import Principal
from shared.contracts.subsidies import PolicyCode, SubsidyPaid
from shared.db import keyset
from shared.errors import Conflict, InvalidInput, NotFound


async def pay_subsidy(
    session: AsyncSession,
    data: PaymentCreate,
    *,
    key: str,
    actor: Principal,
    policies: Collection[PolicyCode],
    today: date,
    now: datetime,
) -> tuple[Payment, bool]:
    """Pay a subsidy of the policy catalogue exactly once per household, policy and period.

    `key` is the payment's idempotency key, unique among all payments whoever made them. Returns (payment, newly
    paid): the same key with the same request returns the payment it made, whatever the day or the catalogue now.
    """
    earlier = await _payment_by_key(session, key)
    if earlier is not None:
        return _replayed(earlier, data), False
    ensure_period_begun(data.period, today=today)
    ensure_known_policy(data.policy_code, policies)
    household = await session.get(EligibleHousehold, data.household_id)
    if household is None:
        raise InvalidInput("The household is not a registered household (建档立卡户) known to subsidies.")
    payment = Payment(
        **data.model_dump(),
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
        ),
    )
    return payment, True


async def _paid_concurrently(session: AsyncSession, data: PaymentCreate, key: str, exc: IntegrityError) -> Payment:
    """Another request committed first: a retry of it gets the original; anything else is a conflict."""
    earlier = await _payment_by_key(session, key)
    if earlier is None:
        raise Conflict("This subsidy is already paid to this household for this period.") from exc
    return _replayed(earlier, data)


def _replayed(earlier: Payment, data: PaymentCreate) -> Payment:
    """The payment an idempotency key already made, if `data` asks for that same payment."""
    if not _same_request(earlier, data):
        raise Conflict("This Idempotency-Key was already used for a different payment.")
    return earlier


def _same_request(payment: Payment, data: PaymentCreate) -> bool:
    return (payment.household_id, payment.policy_code, payment.period, payment.amount_fen) == (
        data.household_id,
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
    session: AsyncSession, *, household_id: UUID | None, after: tuple[datetime, UUID] | None, limit: int
) -> list[Payment]:
    """Payments, the newest first, optionally of one household."""
    stmt = select(Payment)
    if household_id is not None:
        stmt = stmt.where(col(Payment.household_id) == household_id)
    stmt = keyset(stmt, (col(Payment.paid_at), col(Payment.id)), after, limit=limit, descending=True)
    return list((await session.scalars(stmt)).all())

"""Routes of subsidy payments (补贴发放)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response, status

from services.subsidies.api.deps import Limit, Payer, Policies, Reader
from services.subsidies.domain import payments
from services.subsidies.schemas.payments import PaymentCreate, PaymentRead
from shared.api.clock import Now, Today
from shared.http import Transaction

router = APIRouter(prefix="/payments", tags=["payments"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def pay_subsidy(
    body: PaymentCreate,
    response: Response,
    session: Transaction,
    actor: Payer,
    policies: Policies,
    now: Now,
    today: Today,
) -> PaymentRead:
    """Pay a subsidy once; a retry with the same idempotency key returns the original with 200."""
    payment, created = await payments.pay_subsidy(session, body, actor=actor, policies=policies, today=today, now=now)
    if not created:
        response.status_code = status.HTTP_200_OK
    return PaymentRead(**payment.model_dump())


@router.get("")
async def list_payments(
    session: Transaction, _: Reader, household_id: UUID | None = None, limit: Limit = 100
) -> list[PaymentRead]:
    """Payments, newest first, optionally of one household."""
    rows = await payments.list_payments(session, household_id=household_id, limit=limit)
    return [PaymentRead(**p.model_dump()) for p in rows]


@router.get("/{payment_id}")
async def get_payment(payment_id: UUID, session: Transaction, _: Reader) -> PaymentRead:
    return PaymentRead(**(await payments.get_payment(session, payment_id)).model_dump())

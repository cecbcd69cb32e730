"""Routes of subsidy payments (补贴发放)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response, status

from services.subsidies.api.deps import Payer, PaymentKey, Policies, Reader
from services.subsidies.domain import payments
from services.subsidies.schemas.payments import PaymentCreate, PaymentRead
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, REPLAYED_HEADER
from shared.api.pagination import Page, Paging, datetime_key, uuid_key
from shared.http import Transaction

router = APIRouter(prefix="/payments", tags=["payments"])


@router.post("", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def pay_subsidy(
    body: PaymentCreate,
    key: PaymentKey,
    response: Response,
    session: Transaction,
    actor: Payer,
    policies: Policies,
    now: Now,
    today: Today,
) -> PaymentRead:
    """Pay a subsidy to a household for a month, exactly once (补贴发放)

    Keeps the payment with a snapshot of the household's members and area, and publishes `SubsidyPaid` on
    `subsidies.events`. The `Idempotency-Key` header is **required** (422 without it) and kept with the payment,
    unique among all payments for as long as the payment is kept: a retry with the same key and body, even one
    racing the first request or sent by another finance officer, answers 200 with the payment first made (header
    `Idempotency-Replayed: true`) and pays nothing again.

    Refused: the same key with another request (409); a subsidy of this policy already paid to the household for
    the month, under another key (409); a household subsidies does not know as registered (422); a month that has
    not begun (422, `period_not_begun`); a policy this deployment does not pay (422, `unknown_policy`).
    """
    payment, created = await payments.pay_subsidy(
        session, body, key=key, actor=actor, policies=policies, today=today, now=now
    )
    if not created:
        response.status_code = status.HTTP_200_OK
        response.headers[REPLAYED_HEADER] = "true"
    return PaymentRead(**payment.model_dump())


@router.get("")
async def list_payments(
    session: Transaction, _: Reader, paging: Paging, household_id: UUID | None = None
) -> Page[PaymentRead]:
    """List subsidy payments (补贴发放), the newest first, optionally of one household

    Pass `next_cursor` on for the next page.
    """
    rows = await payments.list_payments(
        session, household_id=household_id, after=paging.after(datetime_key, uuid_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda p: [p.paid_at.isoformat(), str(p.id)])
    return Page(items=[PaymentRead(**p.model_dump()) for p in items], next_cursor=next_cursor)


@router.get("/{payment_id}")
async def get_payment(payment_id: UUID, session: Transaction, _: Reader) -> PaymentRead:
    """Read one subsidy payment (补贴发放) with the facts it was decided on"""
    return PaymentRead(**(await payments.get_payment(session, payment_id)).model_dump())

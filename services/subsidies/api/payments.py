"""Routes of subsidy payments (补贴发放)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from services.subsidies.api.deps import Payer, PaymentKey, Reader
from services.subsidies.domain import payments
from services.subsidies.rules.vocabulary import PaymentStatus
from services.subsidies.schemas.payments import AnyPeriod, PaymentCreate, PaymentRead
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, REPLAYED_HEADER
from shared.api.pagination import Page, Paging, datetime_key, uuid_key
from shared.areas import AreaCode
from shared.contracts.subsidies import PolicyCode
from shared.http import Reading, Transaction

router = APIRouter(prefix="/payments", tags=["payments"])


@router.post("", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def pay_subsidy(
    body: PaymentCreate,
    key: PaymentKey,
    response: Response,
    session: Transaction,
    actor: Payer,
    now: Now,
    today: Today,
) -> PaymentRead:
    """Record a subsidy paid outside a cycle to a household or a member for a period, exactly once (补贴发放)

    Keeps the payment with the programme version in force for the period and a snapshot of the household's living
    members and area, and publishes `SubsidyPaid` on `subsidies.events`. It records money paid: whether the rule
    entitled the holder is for a leakage check to find. The `Idempotency-Key` header is **required** (422 without
    it) and kept with the payment, unique among all payments for as long as the payment is kept: a retry with the
    same key and body, even one racing the first request or sent by another finance officer, answers 200 with the
    payment first made (header `Idempotency-Replayed: true`) and pays nothing again.

    Refused: the same key with another request (409); a subsidy of this programme already paid to the holder for
    the period, under another key or by a cycle's bank line (409), unless that payment was reversed or recovered
    (`POST /v1/payments/{id}/corrections`): the holder is then paid by a new payment; a holder whose bank line in
    the programme's cycle for the period is pending or paid (409, `bank_line_live`: the bank pays it; a cycle's
    batch never takes a holder paid by hand either); a household subsidies does
    not know as registered (422); a programme not in the catalogue (422, `unknown_policy`) or paid from projects'
    approved plans and payrolls (422, `decided_by_projects`); a period not written
    as the programme's frequency requires (422, `period_format`), not begun (422, `period_not_begun`) or before its
    first version (422, `no_version_in_force`); a member programme without a member of the household (422,
    `member_required`, `not_a_member`), a household programme with one (422, `member_not_expected`); a one-off
    programme the holder was already paid (for any period: once ever, or once a year for 临时救助 and 医疗救助) or
    is listed for in an approved cycle (409, `one_off_paid`).
    """
    payment, created = await payments.pay_subsidy(session, body, key=key, actor=actor, today=today, now=now)
    if not created:
        response.status_code = status.HTTP_200_OK
        response.headers[REPLAYED_HEADER] = "true"
    return PaymentRead(**payment.model_dump())


@router.get("")
async def list_payments(
    session: Reading,
    _: Reader,
    paging: Paging,
    household_id: UUID | None = None,
    status: PaymentStatus | None = None,
    policy_code: PolicyCode | None = None,
    period: Annotated[AnyPeriod | None, Query()] = None,
    area_code: Annotated[
        AreaCode | None, Query(description="a township's or village's code: payments within it")
    ] = None,
) -> Page[PaymentRead]:
    """List subsidy payments (补贴发放), the newest first, filtered by household, status, programme, period or area

    `status` paid, reversed (冲正) or recovered (追回); `area_code` a township or village code (its payments' area
    snapshots). Pass `next_cursor` on for the next page.
    """
    rows = await payments.list_payments(
        session,
        household_id=household_id,
        status=status,
        policy_code=policy_code,
        period=period,
        area_code=area_code,
        after=paging.after(datetime_key, uuid_key),
        limit=paging.limit + 1,
    )
    items, next_cursor = paging.page(rows, lambda p: [p.paid_at.isoformat(), str(p.id)])
    return Page(items=[PaymentRead(**p.model_dump()) for p in items], next_cursor=next_cursor)


@router.get("/{payment_id}")
async def get_payment(payment_id: UUID, session: Reading, _: Reader) -> PaymentRead:
    """Read one subsidy payment (补贴发放) with the facts it was decided on"""
    return PaymentRead(**(await payments.get_payment(session, payment_id)).model_dump())

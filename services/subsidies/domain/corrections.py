"""Corrections of wrong payments (冲正 / 追回): a payment reversed or recovered whole, once, with a reason.

A payment is never deleted: its status says it no longer counts (`reversed`, `recovered`), its `PaymentCorrection`
says who decided it, when and why, and `SubsidyPaymentCorrected` tells households to take it out of the holder's
transfer income. A bank's return arrives through its result file (`domain/reconciliation.py`) and reverses the
payment the same way.

A payment a cycle's bank line made is corrected with its line and entitlement in mind. Reversed by hand (the money
never reached the payee), its line becomes `reversed`, no longer live: a follow-up batch pays the entitlement again,
into the same account if it is still in use (a reversal is no account problem), and a return the bank reports
later for that line changes nothing. Recovered (the money should not have been paid), its entitlement is withdrawn
with the reason and the cycle's count and total follow: it is never paid again; its line stays `paid` (the bank did
pay it), and a return the bank reports later for it changes nothing either (the money came back to a payment
already undone).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Row, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.subsidies import events
from services.subsidies.domain import entitlement_lists as lists
from services.subsidies.domain.batches import batch_of
from services.subsidies.domain.cycles import cycle_of
from services.subsidies.models import BatchLine, CycleEntitlement, Payment, PaymentCorrection
from services.subsidies.rules.vocabulary import LineStatus, PaymentStatus
from services.subsidies.schemas.corrections import CorrectionCreate
from shared.auth import Principal, Role
from shared.contracts.subsidies import CorrectionKind, SubsidyPaymentCorrected
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound

STATUS_AFTER = {CorrectionKind.REVERSAL: PaymentStatus.REVERSED, CorrectionKind.RECOVERY: PaymentStatus.RECOVERED}


async def correct_payment(
    session: AsyncSession, payment_id: UUID, data: CorrectionCreate, *, actor: Principal, now: datetime
) -> PaymentCorrection:
    """Reverse or recover a paid payment, whole, once.

    A reversal (冲正) is the finance office's (the money never reached the payee); a recovery (追回) may also be
    decided by the district office. Forbidden for a district officer reversing; NotFound; Conflict `corrected` once
    the payment was corrected; InvalidInput `partial_correction` for any amount but the payment's.
    """
    if data.kind is CorrectionKind.REVERSAL and Role.FINANCE_OFFICER not in actor.acting_roles:
        raise Forbidden("Only the finance office reverses a payment (冲正); the district office may recover one.")
    await _lock_batch_of(session, payment_id)
    payment = await _locked_payment(session, payment_id)
    if payment.status != PaymentStatus.PAID or await _correction_of(session, payment.id) is not None:
        raise Conflict(f"The payment was already corrected (its status is {payment.status}).", code="corrected")
    if data.amount_fen != payment.amount_fen:
        raise InvalidInput(
            "A payment is corrected whole: the amount must be the payment's.",
            errors=[
                {
                    "field": "body.amount_fen",
                    "message": f"must be the payment's amount, {payment.amount_fen} fen",
                    "code": "partial_correction",
                }
            ],
        )
    correction = PaymentCorrection(
        payment_id=payment.id,
        kind=data.kind,
        amount_fen=payment.amount_fen,
        reason=data.reason,
        recorded_by=actor.subject,
        recorded_at=now,
    )
    payment.status = STATUS_AFTER[data.kind]
    session.add(correction)
    try:
        await session.flush()
    except IntegrityError as exc:  # corrected meanwhile by a request that committed first
        raise Conflict("The payment was already corrected.", code="corrected") from exc
    await _follow_bank_line(session, payment, data)
    events.publish(session, corrected_event(payment, data.kind))
    return correction


async def _lock_batch_of(session: AsyncSession, payment_id: UUID) -> None:
    """A bank line's payment: its batch's row locked first, in the order a result import takes them, so that the
    correction and an import of the batch's results never interleave."""
    line_id = await session.scalar(select(col(Payment.batch_line_id)).where(col(Payment.id) == payment_id))
    if line_id is None:
        return
    batch_id = await session.scalar(select(col(BatchLine.batch_id)).where(col(BatchLine.id) == line_id))
    if batch_id is not None:
        await batch_of(session, batch_id, for_update=True)


async def _follow_bank_line(session: AsyncSession, payment: Payment, data: CorrectionCreate) -> None:
    """What a correction of a bank line's payment does to the line and the entitlement (the module's docstring);
    a payment by hand has neither."""
    if payment.batch_line_id is None or payment.entitlement_id is None:
        return
    if data.kind is CorrectionKind.REVERSAL:
        await session.execute(
            update(BatchLine)
            .where(col(BatchLine.id) == payment.batch_line_id, col(BatchLine.status) == LineStatus.PAID)
            .values(status=LineStatus.REVERSED)
        )
        return
    cycle_id = await session.scalar(
        select(col(CycleEntitlement.cycle_id)).where(col(CycleEntitlement.id) == payment.entitlement_id)
    )
    if cycle_id is None:
        return
    cycle = await cycle_of(session, cycle_id, for_update=True)
    await lists.withdraw(session, [(payment.entitlement_id, _recovered_reason(payment.id, data.reason))])
    cycle.entitled_count, cycle.total_fen = await lists.listed_totals(session, cycle.id)


def _recovered_reason(payment_id: UUID, reason: str) -> str:
    """Why an entitlement left the list: its payment was recovered (追回), with the recovery's reason."""
    return f"withdrawn: payment {payment_id} was recovered (追回): {reason}"[:500]


async def correction_of_payment(session: AsyncSession, payment_id: UUID) -> PaymentCorrection:
    """The payment's correction; NotFound if the payment does not exist or was never corrected."""
    if await session.get(Payment, payment_id) is None:
        raise NotFound("No payment has this id.")
    correction = await _correction_of(session, payment_id)
    if correction is None:
        raise NotFound("This payment was never corrected.")
    return correction


def corrected_event(payment: Payment | Row[Any], kind: CorrectionKind) -> SubsidyPaymentCorrected:
    """What a payment's correction publishes (the payment as an object, or as a row of its columns)."""
    return SubsidyPaymentCorrected(
        household_id=payment.household_id,
        payment_id=payment.id,
        kind=kind,
        policy_code=payment.policy_code,
        period=payment.period,
        amount_fen=payment.amount_fen,
    )


async def _locked_payment(session: AsyncSession, payment_id: UUID) -> Payment:
    """The payment, its row locked until the transaction ends: two corrections of it never interleave."""
    stmt = select(Payment).where(col(Payment.id) == payment_id).with_for_update()
    payment = (await session.scalars(stmt.execution_options(populate_existing=True))).one_or_none()
    if payment is None:
        raise NotFound("No payment has this id.")
    return payment


async def _correction_of(session: AsyncSession, payment_id: UUID) -> PaymentCorrection | None:
    found = await session.scalars(select(PaymentCorrection).where(col(PaymentCorrection.payment_id) == payment_id))
    return found.first()

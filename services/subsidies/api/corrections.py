"""Routes of a payment's correction (冲正 reversal / 追回 recovery)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from services.subsidies.api.deps import Corrector, Reader
from services.subsidies.domain import corrections
from services.subsidies.models import PaymentCorrection
from services.subsidies.schemas.corrections import CorrectionCreate, CorrectionRead
from shared.api.clock import Now
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.contracts.subsidies import CorrectionKind
from shared.http import Reading, Transaction

router = APIRouter(prefix="/payments", tags=["payment corrections"])


@router.post("/{payment_id}/corrections", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def correct_payment(
    payment_id: UUID, body: CorrectionCreate, session: Transaction, actor: Corrector, idem: Idempotency, now: Now
) -> CorrectionRead:
    """Reverse (冲正) or recover (追回) a wrong payment, whole, with the reason

    The payment becomes `reversed` or `recovered` (it is kept, never deleted), the correction is kept with who
    decided it, when and why, and `SubsidyPaymentCorrected` is published on `subsidies.events`: households take the
    amount out of the holder's income (transfer income; a plan's share asset income, a post's allowance a wage).
    A reversal is the finance office's; a recovery may also be decided by the district office. A payment the bank
    returned is reversed by importing its result file instead. A bank line's payment reversed by hand leaves its
    line `reversed`: a follow-up batch pays the entitlement again, into the same account if it is still in use, and
    a return the bank reports later for the line changes nothing. A bank line's payment recovered withdraws its
    entitlement (the reason names the payment and the recovery's reason; the cycle's count and total follow): it is
    never paid again. An optional `Idempotency-Key` makes a retry answer 200 with the first correction.

    Refused: a district officer reversing (403); an unknown payment (404); a payment already corrected (409,
    `corrected`); an amount other than the payment's (422, `partial_correction`: a payment is corrected whole); a
    reason holding an ID-card or a bank account number (422).
    """
    if (earlier := await idem.replay(body, CorrectionRead)) is not None:
        return earlier
    correction = await corrections.correct_payment(session, payment_id, body, actor=actor, now=now)
    return idem.remember(_read(correction))


@router.get("/{payment_id}/correction")
async def get_correction(payment_id: UUID, session: Reading, _: Reader) -> CorrectionRead:
    """Read a payment's correction (冲正 / 追回): its kind, amount, reason, who and when

    Refused: an unknown payment, or one never corrected (404).
    """
    return _read(await corrections.correction_of_payment(session, payment_id))


def _read(correction: PaymentCorrection) -> CorrectionRead:
    kind = CorrectionKind(correction.kind)
    return CorrectionRead(**correction.model_dump(), payment_status=corrections.STATUS_AFTER[kind])

"""Bodies of a payment's correction (冲正 reversal / 追回 recovery)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field

from services.subsidies.rules.vocabulary import PaymentStatus
from shared.contracts.subsidies import CorrectionKind
from shared.money import Fen
from shared.personal_data import ScreenedPaymentText
from shared.schemas import RequestBody


class CorrectionCreate(RequestBody):
    """Reverse or recover a payment, whole, with the reason."""

    example: ClassVar[dict[str, Any]] = {
        "kind": "recovery",
        "reason": "户籍核查: 该户2020年3月已迁出本区, 6月低保应停发",
        "amount_fen": 77_400,
    }

    kind: CorrectionKind = Field(
        description="reversal (冲正: the money never reached the payee; finance office only) or recovery (追回: "
        "taken back from the payee)"
    )
    reason: ScreenedPaymentText = Field(
        min_length=1, max_length=500, description="why, in words (never an ID-card or bank account number)"
    )
    amount_fen: Annotated[
        Fen, Field(gt=0, description="the payment's whole amount: a part is refused (`partial_correction`)")
    ]


class CorrectionRead(BaseModel):
    id: UUID
    payment_id: UUID
    kind: CorrectionKind
    amount_fen: int
    reason: str
    recorded_by: str
    recorded_at: datetime
    payment_status: PaymentStatus = Field(description="the payment's status after the correction")

"""Bodies of a subsidy payment (补贴发放)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field

from shared.contracts.subsidies import PolicyCode
from shared.money import Fen
from shared.schemas import Period, RequestBody

CATALOGUE = (
    "a policy of the catalogue (政策目录); a code this deployment does not pay (SUBSIDIES_POLICY_CODES) is refused "
    "with the error code `unknown_policy`"
)


class PaymentCreate(RequestBody):
    """Pay one subsidy to one household for one period; the `Idempotency-Key` header makes a retry safe."""

    example: ClassVar[dict[str, Any]] = {
        "household_id": "6f1d1bb0-5c3a-4e1e-9a57-2d8c0b7e4a10",
        "policy_code": "dibao",
        "period": "2020-06",
        "amount_fen": 52_000,
    }

    household_id: UUID = Field(description="a registered household (建档立卡户) subsidies knows of")
    policy_code: PolicyCode = Field(description=CATALOGUE)
    period: Period = Field(description="a month that has begun")
    amount_fen: Annotated[Fen, Field(gt=0)]


class PaymentRead(BaseModel):
    id: UUID
    household_id: UUID
    policy_code: PolicyCode
    period: str
    amount_fen: int
    idempotency_key: str = Field(description="the `Idempotency-Key` the payment was made with")
    member_count: int
    area_code: str
    paid_by: str
    paid_at: datetime

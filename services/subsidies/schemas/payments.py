"""Bodies of a subsidy payment (补贴发放)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field

from shared.money import Fen
from shared.schemas import Period, RequestBody

PolicyCode = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_]+$", examples=["dibao"])]


class PaymentCreate(RequestBody):
    """Pay one subsidy to one household for one period; `idempotency_key` makes a retry safe."""

    household_id: UUID
    policy_code: PolicyCode = Field(description="a policy of the catalogue (SUBSIDIES_POLICY_CODES)")
    period: Period = Field(description="a month that has begun")
    amount_fen: Annotated[Fen, Field(gt=0)]
    idempotency_key: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")


class PaymentRead(BaseModel):
    id: UUID
    household_id: UUID
    policy_code: str
    period: str
    amount_fen: int
    idempotency_key: str
    member_count: int
    area_code: str
    paid_by: str
    paid_at: datetime

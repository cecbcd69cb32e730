"""Bodies of a subsidy payment (补贴发放)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field

from services.subsidies.rules.periods import ANY_PERIOD_PATTERN
from services.subsidies.rules.vocabulary import PaymentStatus
from shared.contracts.subsidies import PolicyCode
from shared.money import Fen
from shared.schemas import RequestBody

CATALOGUE = (
    "a programme of the catalogue (政策目录, `GET /v1/programmes`); a code of `PolicyCode` not in it is refused with "
    "the error code `unknown_policy`"
)
PERIOD = (
    "written as the programme's frequency requires (YYYY-MM monthly and one-off, YYYY-S1/S2 termly, YYYY yearly: "
    "`period_format`), begun (`period_not_begun`), with a version of the programme in force on its first day "
    "(`no_version_in_force`)"
)

# A period of any programme's form; whether it is the form of the named programme is checked against the catalogue.
AnyPeriod = Annotated[str, Field(pattern=ANY_PERIOD_PATTERN, examples=["2020-06", "2020-S2", "2020"])]


class PaymentCreate(RequestBody):
    """Record one subsidy paid outside a cycle to one household (or one of its members) for one period; the
    `Idempotency-Key` header makes a retry safe."""

    example: ClassVar[dict[str, Any]] = {
        "household_id": "6f1d1bb0-5c3a-4e1e-9a57-2d8c0b7e4a10",
        "policy_code": "dibao",
        "period": "2020-06",
        "amount_fen": 52_000,
    }

    household_id: UUID = Field(description="a registered household (建档立卡户) subsidies knows of")
    member_id: UUID | None = Field(
        default=None,
        description="the member paid: required by a member programme (a member of the household), refused by a "
        "household programme",
    )
    policy_code: PolicyCode = Field(description=CATALOGUE)
    period: AnyPeriod = Field(description=PERIOD)
    amount_fen: Annotated[Fen, Field(gt=0)]


class PaymentRead(BaseModel):
    id: UUID
    household_id: UUID
    member_id: UUID | None = Field(description="the member paid, for a member programme")
    policy_code: PolicyCode
    period: str
    order_ref: str = Field(description="the distribution plan's id for a plan's share; empty otherwise")
    amount_fen: int
    version_id: UUID | None = Field(description="the programme version in force for the period when it was paid")
    status: PaymentStatus
    idempotency_key: str = Field(description="the `Idempotency-Key` the payment was made with")
    member_count: int
    area_code: str
    paid_by: str
    paid_at: datetime

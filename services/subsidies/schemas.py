"""Request and response bodies of the subsidies API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field, field_validator

from services.subsidies import rules
from shared.areas import AreaCode
from shared.money import Fen
from shared.schemas import RequestBody
from shared.timeutil import PERIOD_PATTERN, district_today


class PaymentCreate(RequestBody):
    """Pay one subsidy to one household for one period; `idempotency_key` makes a retry safe."""

    household_id: UUID
    policy_code: str = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_]+$", examples=["dibao"])
    period: str = Field(pattern=PERIOD_PATTERN, examples=["2020-06"])
    amount_fen: Annotated[Fen, Field(gt=0)]
    idempotency_key: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")

    @field_validator("period")
    @classmethod
    def _period_begun(cls, value: str) -> str:
        return rules.check_period_begun(value, today=district_today())


class CoverageCheckCreate(RequestBody):
    """Check that everyone entitled to a policy was paid it for a period (政策落实覆盖核查), in an area or all."""

    policy_code: str = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_]+$", examples=["dibao"])
    period: str = Field(pattern=PERIOD_PATTERN, examples=["2020-06"])
    area_code: AreaCode | None = Field(
        default=None, description="district, township or village to check; omitted: the caller's whole reach"
    )

    @field_validator("period")
    @classmethod
    def _period_begun(cls, value: str) -> str:
        return rules.check_period_begun(value, today=district_today())


class CoverageGapRead(BaseModel):
    household_id: UUID
    member_id: UUID | None = Field(description="the entitled member for a member's policy; None for a household's")
    area_code: str = Field(description="the household's area when the check ran")


class CoverageCheckRead(BaseModel):
    id: UUID
    policy_code: str
    period: str
    area_code: str | None = Field(description="the area checked; None: the whole district")
    checked_by: str
    checked_at: datetime
    entitled_count: int
    gap_count: int
    gaps: list[CoverageGapRead]


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


class AllocationRead(BaseModel):
    id: UUID
    income_id: UUID
    project_id: UUID
    household_id: UUID
    period: str
    amount_fen: int
    member_count: int
    allocated_at: datetime


class IncomeRead(BaseModel):
    income_id: UUID
    project_id: UUID
    period: str
    amount_fen: int
    status: str = Field(description="distributed, or undistributed: no registered household in the township yet")
    household_count: int
    received_at: datetime
    distributed_at: datetime | None

"""Bodies of a coverage check (政策落实覆盖核查) and the gaps it found."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from services.subsidies.schemas.payments import PolicyCode
from shared.areas import AreaCode
from shared.schemas import Period, RequestBody


class CoverageCheckCreate(RequestBody):
    """Check that everyone entitled to a policy was paid it for a period, in an area or all."""

    policy_code: PolicyCode = Field(description="a policy of the catalogue (SUBSIDIES_POLICY_CODES)")
    period: Period = Field(description="a month that has begun")
    area_code: AreaCode | None = Field(
        default=None, description="district, township or village to check; omitted: the caller's whole reach"
    )


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

"""Bodies of a coverage check (政策落实覆盖核查) and the gaps it found."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field

from services.subsidies.schemas.payments import CATALOGUE
from shared.areas import AreaCode
from shared.contracts.subsidies import PolicyCode
from shared.schemas import Period, RequestBody


class CoverageCheckCreate(RequestBody):
    """Check that everyone entitled to a policy was paid it for a period, in an area or all."""

    example: ClassVar[dict[str, Any]] = {"policy_code": "dibao", "period": "2020-06", "area_code": "371523101"}

    policy_code: PolicyCode = Field(description=CATALOGUE)
    period: Period = Field(description="a month that has begun")
    area_code: AreaCode | None = Field(
        default=None, description="district, township or village to check; omitted: the caller's whole reach"
    )


class CoverageGapRead(BaseModel):
    household_id: UUID
    member_id: UUID | None = Field(description="the entitled member for a member's policy; None for a household's")
    area_code: str = Field(description="the household's area when the check ran")


class CoverageCheckSummary(BaseModel):
    """A coverage check as it was run, without its gaps (read one check for them)."""

    id: UUID
    policy_code: PolicyCode
    period: str
    area_code: str | None = Field(description="the area checked; None: the whole district")
    checked_by: str
    checked_at: datetime
    entitled_count: int
    gap_count: int


class CoverageCheckRead(CoverageCheckSummary):
    """A coverage check as it was run, with every gap it found then (`gap_count` of them)."""

    gaps: list[CoverageGapRead]

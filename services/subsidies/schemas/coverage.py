"""Bodies of a coverage check (政策落实覆盖核查) and the gaps it found."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field, computed_field

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
    """One entitlement a check found unpaid, as it stood when the check ran."""

    household_id: UUID
    member_id: UUID | None = Field(description="the entitled member for a member's policy; None for a household's")
    area_code: str = Field(description="the household's area when the check ran")


class CoverageCheckRead(BaseModel):
    """A coverage check as it was run, with its counts; its gaps are a list of their own,
    `GET /v1/coverage-checks/{check_id}/gaps` (`gap_count` of them)."""

    id: UUID
    policy_code: PolicyCode
    period: str
    area_code: str | None = Field(description="the area checked; None: the whole district")
    checked_by: str
    checked_at: datetime
    entitled_count: int = Field(description="entitlements held on any day of the month (a household's or a member's)")
    gap_count: int = Field(description="entitlements no payment for the month covers: the check's gaps")

    @computed_field(description="entitlements a payment for the month covers: `entitled_count` - `gap_count`")  # type: ignore[prop-decorator]
    @property
    def paid_count(self) -> int:
        return self.entitled_count - self.gap_count

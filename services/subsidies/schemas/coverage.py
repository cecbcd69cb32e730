"""Bodies of a coverage check (政策落实覆盖核查) and the gaps it found."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field, computed_field

from services.subsidies.schemas.payments import AnyPeriod
from shared.areas import AreaCode
from shared.contracts.subsidies import PolicyCode
from shared.schemas import RequestBody

IN_CATALOGUE = (
    "a programme of the catalogue (政策目录, `GET /v1/programmes`); a code the catalogue does not hold is refused "
    "with the error code `unknown_policy`, one with no version in force on the period's first day with "
    "`no_version_in_force`"
)
PERIOD = (
    "a period that has begun, written as the programme's frequency requires: YYYY-MM (monthly, one-off), YYYY-S1 or "
    "YYYY-S2 (termly), YYYY (yearly); otherwise refused with `period_format`"
)


class CoverageCheckCreate(RequestBody):
    """Check that everyone a programme's rule entitles was paid it for a period, in an area or all."""

    example: ClassVar[dict[str, Any]] = {"policy_code": "dibao", "period": "2020-06", "area_code": "371523101"}

    policy_code: PolicyCode = Field(description=IN_CATALOGUE)
    period: AnyPeriod = Field(description=PERIOD)
    area_code: AreaCode | None = Field(
        default=None, description="district, township or village to check; omitted: the caller's whole reach"
    )


class CoverageGapRead(BaseModel):
    """One entitlement a check found unpaid, as it stood when the check ran."""

    household_id: UUID
    member_id: UUID | None = Field(description="the entitled member for a member's programme; None for a household's")
    area_code: str = Field(description="the household's area when the check ran")


class CoverageCheckRead(BaseModel):
    """A coverage check as it was run, with its counts; its gaps are a list of their own,
    `GET /v1/coverage-checks/{check_id}/gaps` (`gap_count` of them)."""

    id: UUID
    policy_code: PolicyCode
    period: str
    area_code: str | None = Field(description="the area checked; None: the whole district")
    cycle_id: UUID | None = Field(description="the cycle checked on its schedule; None: a check run on demand")
    checked_by: str = Field(description="who ran it; `scheduler` for a cycle's scheduled check")
    checked_at: datetime
    entitled_count: int = Field(
        description="holders (households, or members for a member's programme) the version in force entitled"
    )
    gap_count: int = Field(description="entitled holders no paid payment for the period covers: the check's gaps")

    @computed_field(description="entitled holders paid for the period: `entitled_count` - `gap_count`")  # type: ignore[prop-decorator]
    @property
    def paid_count(self) -> int:
        return self.entitled_count - self.gap_count

"""Bodies of a leakage check (资金安全核查) and the leaks it found."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field

from services.subsidies.schemas.coverage import IN_CATALOGUE, PERIOD
from services.subsidies.schemas.payments import AnyPeriod
from shared.contracts.subsidies import LeakKind, PolicyCode
from shared.schemas import RequestBody


class LeakageCheckCreate(RequestBody):
    """Check the paid payments of a period, of one programme or of every one, against who was entitled to what."""

    example: ClassVar[dict[str, Any]] = {"policy_code": "dibao", "period": "2020-06"}

    period: AnyPeriod = Field(description=PERIOD)
    policy_code: PolicyCode | None = Field(
        default=None,
        description=f"{IN_CATALOGUE}; omitted: every programme with a version in force that paid for the period",
    )


class LeakageCheckRead(BaseModel):
    """A leakage check as it was run; the leaks it found are a list of their own,
    `GET /v1/leakage-checks/{check_id}/leaks` (`leak_count` of them)."""

    id: UUID
    policy_code: PolicyCode | None = Field(description="the programme checked; None: every programme")
    period: str
    checked_by: str = Field(description="who ran it; `scheduler` for a cycle's scheduled check")
    checked_at: datetime
    payment_count: int = Field(description="paid payments judged")
    leak_count: int = Field(
        description="leaks this check found first (one per payment and kind: a leak found before is not repeated)"
    )


class LeakRead(BaseModel):
    """A payment that should not have been made as it was, found by a leakage check and published for audit."""

    id: UUID
    check_id: UUID = Field(description="the check that found it first")
    kind: LeakKind
    payment_id: UUID
    household_id: UUID
    area_code: str = Field(description="the household's area when it was paid")
    policy_code: PolicyCode
    period: str
    detail: str = Field(description="why, in plain words")

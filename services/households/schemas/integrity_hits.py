"""Bodies of the integrity checks' hits (核查比对): what was found, about whom, on what evidence (ids only)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from services.households.rules.integrity import MAX_EVIDENCE, HitKind


class IntegrityHitRead(BaseModel):
    """One hit: its kind, the household and member, the power holder (for a conflict of interest), what it is about
    (`ref`: an approved list's id, a batch's, a holder's), and the problem published for audit."""

    id: UUID
    kind: HitKind
    household_id: UUID
    member_id: UUID
    holder_id: UUID | None
    ref: str
    found_on: date
    evidence: list[dict[str, Any]] = Field(
        max_length=MAX_EVIDENCE,
        description="what the hit rests on, by id: `type` and `id` (a power holder, a relative, an approved list, a "
        "payment, a department's batch with the `row` of its submission), never a number or a name",
    )
    problem_id: UUID = Field(description="the problem published for audit (its finding's source)")
    recorded_at: datetime

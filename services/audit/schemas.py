"""Response bodies of the audit API."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel


class FindingRead(BaseModel):
    id: UUID
    subject_kind: str
    subject_id: str
    area_code: str
    category: str
    code: str
    severity: str
    description: str
    status: str
    occurrences: int
    opened_at: datetime


class RectificationTaskRead(BaseModel):
    id: UUID
    finding_id: UUID
    owner: str
    deadline: datetime
    status: str
    opened_at: datetime


class DisciplineReferralRead(BaseModel):
    id: UUID
    finding_id: UUID
    reason: str
    referred_at: datetime

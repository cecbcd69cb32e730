"""Rectification tasks (整改): a task, its submissions, follow-up checks (回头看) and deadline changes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import AwareDatetime, Field

from services.audit.schemas.common import EvidenceIn, Output, Prose
from shared.schemas import RequestBody


class RectificationTaskRead(Output):
    id: UUID
    finding_id: UUID
    owner: str
    deadline: datetime
    status: str
    opened_at: datetime
    started_by: str | None
    started_at: datetime | None
    submitted_by: str | None
    submitted_at: datetime | None
    verified_by: str | None
    verified_at: datetime | None
    closed_by: str | None
    closed_at: datetime | None
    reminded_at: datetime | None
    overdue_at: datetime | None
    reopen_count: int


class SubmissionCreate(RequestBody):
    summary: Annotated[Prose, Field(max_length=1000)]
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=50)


class SubmissionRead(Output):
    id: UUID
    task_id: UUID
    submitted_by: str
    submitted_at: datetime
    summary: str
    evidence: list[dict[str, Any]]


class FollowUpCheckCreate(RequestBody):
    """The outcome of a follow-up check (回头看)."""

    passed: bool
    notes: Annotated[Prose, Field(max_length=1000)]
    campaign_id: UUID | None = None


class FollowUpCheckRead(Output):
    id: UUID
    task_id: UUID
    submission_id: UUID
    campaign_id: UUID | None
    checked_by: str
    checked_at: datetime
    passed: bool
    notes: str


class DeadlineChangeCreate(RequestBody):
    """A new deadline (调整整改期限) and why."""

    deadline: AwareDatetime
    reason: Annotated[Prose, Field(min_length=4, max_length=500)]


class DeadlineChangeRead(Output):
    id: UUID
    task_id: UUID
    previous_deadline: datetime
    deadline: datetime
    changed_by: str
    changed_at: datetime
    reason: str

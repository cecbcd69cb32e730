"""Rectification tasks (整改): a task, its submissions, follow-up checks (回头看) and deadline changes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import AwareDatetime, Field

from services.audit.rules.findings import EVIDENCE_PER_ENTRY
from services.audit.rules.lifecycle import TaskStatus
from services.audit.schemas.common import EvidenceIn, Output, Prose
from shared.schemas import RequestBody

# At least four characters once trimmed (`min_length` counts after trimming), none a control character. The
# document's `minLength` would count the blanks a client may send around the text, so a pattern states the rule.
_TEXT = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_NOT_BLANK = r"[^\s\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
FOUR_OR_MORE = f"^{_NOT_BLANK}{_TEXT}{{2,}}{_NOT_BLANK}$"


class RectificationTaskRead(Output):
    id: UUID
    finding_id: UUID
    owner: str
    deadline: datetime
    status: TaskStatus
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
    """The owner's report that the problem is rectified, with references to the evidence."""

    example: ClassVar[dict[str, Any]] = {
        "summary": "东屋北墙已加固, 屋顶已更换, 2020年6月10日完工",
        "evidence": [
            {"kind": "photo", "reference": "archive://2020/06/371523101201-0017-after.jpg"},
            {"kind": "document", "reference": "贾寨镇危房改造验收单 2020-061", "note": "镇村两级验收"},
        ],
    }

    summary: Annotated[Prose, Field(max_length=1000)]
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=EVIDENCE_PER_ENTRY)


class SubmissionRead(Output):
    id: UUID
    task_id: UUID
    submitted_by: str
    submitted_at: datetime
    summary: str
    evidence: list[dict[str, Any]] = Field(max_length=EVIDENCE_PER_ENTRY)


class FollowUpCheckCreate(RequestBody):
    """The outcome of a follow-up check (回头看)."""

    example: ClassVar[dict[str, Any]] = {"passed": True, "notes": "回头看: 入户查看, 墙体加固和屋顶更换属实, 群众满意"}

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

    example: ClassVar[dict[str, Any]] = {
        "deadline": "2020-06-30T18:00:00+08:00",
        "reason": "雨季建材运输受阻, 延期至6月底",
    }

    deadline: AwareDatetime
    reason: Annotated[Prose, Field(min_length=4, max_length=500, json_schema_extra={"pattern": FOUR_OR_MORE})]


class DeadlineChangeRead(Output):
    id: UUID
    task_id: UUID
    previous_deadline: datetime
    deadline: datetime
    changed_by: str
    changed_at: datetime
    reason: str

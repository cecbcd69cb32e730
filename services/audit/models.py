"""Tables of the audit service: findings (问题), rectification tasks (整改), referrals (线索移交)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid4

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from shared.timeutil import UTCDateTime, utcnow


class FindingStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class TaskStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    CLOSED = "closed"


class Finding(SQLModel, table=True):
    """A problem found anywhere; one open finding per subject and problem kind."""

    __table_args__ = (
        Index(
            "uq_finding_open_subject_code",
            "subject_kind",
            "subject_id",
            "code",
            unique=True,
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
    )

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    subject_kind: str = Field(max_length=20)
    subject_id: str = Field(max_length=64)
    area_code: str = Field(max_length=12, index=True)
    category: str = Field(max_length=30)
    code: str = Field(max_length=60)
    severity: str = Field(max_length=20)
    description: str = Field(max_length=1000)
    status: str = Field(default=FindingStatus.OPEN, max_length=20)
    occurrences: int = 1
    source_ref: str = Field(max_length=64, description="id of the problem or event that first reported it")
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RectificationTask(SQLModel, table=True):
    """The rectification task (整改任务) a finding opens, with an owner and a deadline."""

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    finding_id: UUID = Field(foreign_key="finding.id", unique=True)
    owner: str = Field(max_length=100, index=True)
    deadline: datetime = Field(sa_type=UTCDateTime, index=True)
    status: str = Field(default=TaskStatus.OPEN, max_length=20)
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DisciplineReferral(SQLModel, table=True):
    """A lead handed to the discipline commission (纪委线索移交)."""

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    finding_id: UUID = Field(foreign_key="finding.id", index=True)
    reason: str = Field(max_length=60)
    referred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

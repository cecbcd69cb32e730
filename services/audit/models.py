"""Tables of audit: campaigns, findings (问题), rectification (整改), referrals (线索移交), 问责, the log."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, Text, text
from sqlalchemy.orm import relationship
from sqlmodel import Field, Relationship, SQLModel

from services.audit.rules.lifecycle import TaskStatus
from shared.ids import uuid7
from shared.timeutil import UTCDateTime


class FindingStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


def _no_items() -> list[Any]:
    return []


def _empty_json_list() -> Any:
    # A Python function, not `list`: pydantic inspects the factory's signature on every SQLModel construction,
    # and for a builtin that means parsing its text signature (~0.1-0.4 ms a row).
    return Field(default_factory=_no_items, sa_type=JSON, sa_column_kwargs={"server_default": text("'[]'")})


def _flush_order_only(target: str) -> Any:
    """A relationship never loaded (reading it raises): it tells the unit of work to insert `target` rows
    first, so that a transaction's findings, tasks and referrals can be flushed together, in order."""
    return relationship(target, lazy="raise")


class InspectionCampaign(SQLModel, table=True):
    """An inspection campaign: a self-assessment round (自查评估), targeted supervision (挂牌督战), a 回头看."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=30)
    scope_level: str = Field(max_length=20)
    scope_code: str = Field(max_length=64)
    round: int
    starts_on: date
    ends_on: date
    teams: list[str] = _empty_json_list()
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_type=UTCDateTime)
    coverage_checked_at: datetime | None = Field(
        default=None, sa_type=UTCDateTime, description="when its coverage was judged after it ended (全覆盖)"
    )


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
        Index("ix_finding_subject", "subject_kind", "subject_id", "code"),
        Index("ix_finding_handover", "severity", "referred_at"),
    )

    id: UUID = Field(default_factory=uuid7, primary_key=True)
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
    opened_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
    campaign_id: UUID | None = Field(default=None, foreign_key="inspectioncampaign.id")
    responsible_unit: str | None = Field(default=None, max_length=100)
    responsible_person: str | None = Field(default=None, max_length=50, description="the responsible person's name")
    responsible_person_id: str | None = Field(
        default=None, max_length=100, index=True, description="the responsible person's login: notifications go to it"
    )
    responsible_role: str | None = Field(default=None, max_length=30, description="ResponsibleRole")
    found_on: date | None = Field(default=None, description="when the problem was found (visit, check, inspection)")
    recorded_by: str | None = Field(default=None, max_length=100, description="the inspector, for manual entries")
    evidence: list[dict[str, Any]] = _empty_json_list()
    referred_at: datetime | None = Field(default=None, sa_type=UTCDateTime, description="first referral")
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RectificationTask(SQLModel, table=True):
    """The rectification task (整改任务) a finding opens, with an owner and a deadline."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    finding_id: UUID = Field(foreign_key="finding.id", unique=True)
    owner: str = Field(max_length=100, index=True)
    deadline: datetime = Field(sa_type=UTCDateTime, index=True)
    status: str = Field(default=TaskStatus.OPEN, max_length=20)
    opened_at: datetime = Field(sa_type=UTCDateTime)
    started_by: str | None = Field(default=None, max_length=100)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Who started it in any round, not only the last (a reopened task is started again): none of them verifies.
    starters: list[str] = _empty_json_list()
    submitted_by: str | None = Field(default=None, max_length=100)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    verified_by: str | None = Field(default=None, max_length=100)
    verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_by: str | None = Field(default=None, max_length=100)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Each scheduled check marks a task once a deadline; a new deadline clears both.
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime, description="due-soon reminder sent")
    overdue_at: datetime | None = Field(default=None, sa_type=UTCDateTime, description="marked overdue")
    reopen_count: int = Field(default=0, sa_column_kwargs={"server_default": text("0")})

    finding: Finding = Relationship(sa_relationship=_flush_order_only("Finding"))


class RectificationSubmission(SQLModel, table=True):
    """What the owner submitted as done, with references to the evidence."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    task_id: UUID = Field(foreign_key="rectificationtask.id", index=True)
    submitted_by: str = Field(max_length=100)
    submitted_at: datetime = Field(sa_type=UTCDateTime)
    summary: str = Field(max_length=1000)
    evidence: list[dict[str, Any]] = _empty_json_list()


class FollowUpCheck(SQLModel, table=True):
    """A follow-up check (回头看) of a submitted rectification: passed (verified) or failed (reopened)."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    task_id: UUID = Field(foreign_key="rectificationtask.id", index=True)
    submission_id: UUID = Field(foreign_key="rectificationsubmission.id")
    campaign_id: UUID | None = Field(default=None, foreign_key="inspectioncampaign.id")
    checked_by: str = Field(max_length=100)
    checked_at: datetime = Field(sa_type=UTCDateTime)
    passed: bool
    notes: str = Field(max_length=1000)


class DeadlineChange(SQLModel, table=True):
    """A deadline moved by the district office (调整整改期限), with who, when and why."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    task_id: UUID = Field(foreign_key="rectificationtask.id", index=True)
    previous_deadline: datetime = Field(sa_type=UTCDateTime)
    deadline: datetime = Field(sa_type=UTCDateTime)
    changed_by: str = Field(max_length=100)
    changed_at: datetime = Field(sa_type=UTCDateTime)
    reason: str = Field(max_length=500)

    task: RectificationTask = Relationship(sa_relationship=_flush_order_only("RectificationTask"))


class DisciplineReferral(SQLModel, table=True):
    """A lead handed to the discipline commission (纪委线索移交)."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    finding_id: UUID = Field(foreign_key="finding.id", index=True)
    reason: str = Field(max_length=60)
    severity: str = Field(max_length=20, description="the finding's when referred: what the commission was handed")
    referred_at: datetime = Field(sa_type=UTCDateTime, index=True)
    task_id: UUID | None = Field(default=None, foreign_key="rectificationtask.id")

    finding: Finding = Relationship(sa_relationship=_flush_order_only("Finding"))
    task: RectificationTask | None = Relationship(sa_relationship=_flush_order_only("RectificationTask"))


class AccountabilityAction(SQLModel, table=True):
    """The discipline commission's decision against a named person (问责): talk, notice, admonishment, sanction."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    referral_id: UUID = Field(foreign_key="disciplinereferral.id", index=True)
    finding_id: UUID = Field(foreign_key="finding.id", index=True)
    kind: str = Field(max_length=30)
    person_name: str = Field(max_length=50, description="personal data: never in events or logs")
    person_position: str | None = Field(default=None, max_length=100)
    person_unit: str = Field(max_length=100)
    decided_on: date = Field(index=True)
    notes: str | None = Field(default=None, max_length=1000)
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class LedgerEntry(SQLModel, table=True):
    """One entry of the tamper-evident log: it carries the hash of the entry before it (append-only)."""

    __tablename__ = "ledger_entry"

    seq: int = Field(sa_column=Column(BigInteger(), primary_key=True, autoincrement=False))
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    source: str = Field(max_length=300, description="<topic>/<event id>, or audit:<change>/<event id>")
    event_type: str = Field(max_length=200)
    payload_hash: str = Field(max_length=64)
    prev_hash: str = Field(max_length=64)
    entry_hash: str = Field(max_length=64)
    facts: str | None = Field(
        default=None,
        sa_type=Text,
        description="the state the change leaves (JSON, hashed with the entry): what state-check replays",
    )


class LedgerAnchor(SQLModel, table=True):
    """A head of the log published outside the database (`LedgerHeadAnchored`), kept here too (append-only)."""

    __tablename__ = "ledger_anchor"

    seq: int = Field(sa_column=Column(BigInteger(), primary_key=True, autoincrement=False))
    entry_hash: str = Field(max_length=64)
    recorded_at: datetime = Field(sa_type=UTCDateTime, description="when the anchored entry was recorded")
    anchored_at: datetime = Field(sa_type=UTCDateTime, index=True)
    anchor_id: UUID = Field(description="the anchor's id in its LedgerHeadAnchored event")


class ResponsibilityChange(SQLModel, table=True):
    """A finding handed to another responsible person (责任人变更): who had it, who has it, why, who decided."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    finding_id: UUID = Field(foreign_key="finding.id", index=True)
    from_person_id: str | None = Field(default=None, max_length=100)
    from_person: str | None = Field(default=None, max_length=50)
    to_person_id: str = Field(max_length=100)
    to_person: str = Field(max_length=50)
    to_unit: str = Field(max_length=100)
    to_role: str = Field(max_length=30)
    reason: str = Field(max_length=500)
    changed_by: str = Field(max_length=100)
    changed_at: datetime = Field(sa_type=UTCDateTime)


class AreaOfficer(SQLModel, table=True):
    """The officer who answers for an area's problems when no one nearer is known (乡镇扶贫干部), set by the district
    office; the most specific area holding the problem's area wins."""

    area_code: str = Field(primary_key=True, max_length=12)
    person_id: str = Field(max_length=100)
    name: str = Field(max_length=50)
    unit: str = Field(max_length=100)
    set_by: str = Field(max_length=100)
    set_at: datetime = Field(sa_type=UTCDateTime)


class Notification(SQLModel, table=True):
    """A notification to a responsible person (提醒): in their inbox, and delivered to the government messaging
    system by a signed webhook. Written in the transaction of the change it tells of (its own outbox), so none is
    lost; delivered, retried with backoff, or dead after the last attempt."""

    __table_args__ = (
        Index("ix_notification_inbox", "person_id", "created_at"),
        Index("ix_notification_delivery", "delivery_status", "next_attempt_at"),
    )

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    person_id: str = Field(max_length=100)
    kind: str = Field(max_length=30, description="NotificationKind: due_soon, overdue, reopened, referred, assigned")
    finding_id: UUID | None = Field(default=None, foreign_key="finding.id")
    task_id: UUID | None = Field(default=None)
    title: str = Field(max_length=200)
    body: str = Field(max_length=1000)
    created_at: datetime = Field(sa_type=UTCDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivery_status: str = Field(default="pending", max_length=20, description="DeliveryStatus")
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Grievance(SQLModel, table=True):
    """A complaint or report from the public (群众诉求): the 12317 hotline, letters and visits (信访), online reports.

    The complainant's contact is sealed (never shown to the township complained about); an anonymous report has none.
    Triage turns it into a finding or records why not; the reply to the complainant is due by `response_due_on`."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    channel: str = Field(max_length=20, description="GrievanceChannel: hotline_12317, letters_visits, online")
    received_on: date
    area_code: str = Field(max_length=12, index=True, description="where the matter is")
    about_kind: str | None = Field(default=None, max_length=20, description="SubjectKind, when it names one")
    about_id: str | None = Field(default=None, max_length=64)
    about_person: str | None = Field(default=None, max_length=100, description="a cadre or officer complained about")
    summary: str = Field(max_length=2000)
    anonymous: bool
    contact_kid: str | None = Field(default=None, max_length=32)
    contact_ciphertext: bytes | None = Field(default=None, sa_type=LargeBinary)
    contact_masked: str | None = Field(default=None, max_length=40)
    status: str = Field(default="received", max_length=20, index=True, description="GrievanceStatus")
    response_due_on: date = Field(index=True)
    triaged_by: str | None = Field(default=None, max_length=100)
    triaged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    triage_note: str | None = Field(default=None, max_length=1000, description="why no finding, or what was found")
    finding_id: UUID | None = Field(default=None, foreign_key="finding.id")
    replied_on: date | None = None
    reply: str | None = Field(default=None, max_length=2000)
    replied_by: str | None = Field(default=None, max_length=100)
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    unanswered_finding_id: UUID | None = Field(
        default=None, foreign_key="finding.id", description="the finding its missed reply deadline opened (once)"
    )


class GrievanceContactReveal(SQLModel, table=True):
    """A complainant's contact opened (查看举报人信息): who, when and why, each also an entry of the log."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    grievance_id: UUID = Field(foreign_key="grievance.id", index=True)
    revealed_by: str = Field(max_length=100)
    revealed_at: datetime = Field(sa_type=UTCDateTime)
    reason: str = Field(max_length=500)


class KnownHousehold(SQLModel, table=True):
    """A registered household as audit knows it (from `households.events`): what a campaign's coverage counts."""

    household_id: UUID = Field(primary_key=True)
    area_code: str = Field(max_length=12, index=True)
    registered_at: datetime = Field(sa_type=UTCDateTime)


class CampaignVisit(SQLModel, table=True):
    """A household reached by a campaign: the first visit of its round, in its scope and dates (全覆盖)."""

    campaign_id: UUID = Field(foreign_key="inspectioncampaign.id", primary_key=True)
    household_id: UUID = Field(primary_key=True)
    area_code: str = Field(max_length=12, index=True)
    visit_id: UUID
    visited_on: date


class HouseholdVisit(SQLModel, table=True):
    """A visit audit heard of (`VisitRecorded`), kept so that a campaign opened after its visits began still counts
    them (全覆盖 is judged on the round's visits, whenever the campaign was entered)."""

    __table_args__ = (Index("ix_householdvisit_round_day", "round", "visited_on"),)

    visit_id: UUID = Field(primary_key=True)
    household_id: UUID
    area_code: str = Field(max_length=12)
    round: int
    visited_on: date

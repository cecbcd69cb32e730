"""Events on `audit.events`: findings (问题), rectification (整改), referrals (线索移交), accountability (问责)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import Field

from shared.contracts import AUDIT_TOPIC, AreaCode, IntegrationEvent, ProblemCode, ProblemText, SubjectId
from shared.contracts.accountability import ResponsiblePerson, Severity
from shared.contracts.households import ProblemCategory

__all__ = ["ResponsiblePerson", "Severity"]


class SubjectKind(StrEnum):
    HOUSEHOLD = "household"
    PROJECT = "project"
    PAYMENT = "payment"
    UNIT = "unit"


class FindingEvent(IntegrationEvent):
    topic = AUDIT_TOPIC
    finding_id: UUID
    subject_kind: SubjectKind
    subject_id: SubjectId

    def aggregate_id(self) -> str:
        return str(self.finding_id)


class FindingRecorded(FindingEvent):
    """A problem became a finding in audit."""

    event_type = "gov.poverty.audit.finding_recorded.v1"
    area_code: AreaCode
    category: ProblemCategory
    code: ProblemCode
    severity: Severity
    description: ProblemText
    responsible: ResponsiblePerson | None = Field(
        default=None, description="who answers for it (责任人): from its source, else the area's officer"
    )
    found_on: date | None = Field(
        default=None, description="when the problem was found (the visit's, check's or inspection's day)"
    )


class FindingReassigned(FindingEvent):
    """The district or township office handed a finding to another responsible person (责任人变更); the reason
    stays in audit."""

    event_type = "gov.poverty.audit.finding_reassigned.v1"
    change_id: UUID
    responsible: ResponsiblePerson
    changed_by: str


class FindingRecurred(FindingEvent):
    """The same open problem was found again: one more occurrence on the open finding."""

    event_type = "gov.poverty.audit.finding_recurred.v1"
    occurrences: int
    severity: Severity | None = None  # the finding's, raised when the repeat was found worse (absent: unchanged)


class RectificationOpened(FindingEvent):
    """A rectification task (整改任务) was opened for a finding."""

    event_type = "gov.poverty.audit.rectification_opened.v1"
    task_id: UUID
    owner: str
    deadline: datetime


class DisciplineReferralMade(FindingEvent):
    """A finding was referred to the discipline commission (纪委线索移交)."""

    event_type = "gov.poverty.audit.discipline_referral_made.v1"
    referral_id: UUID
    reason: str


class RectificationStarted(FindingEvent):
    """The owning unit started work on a rectification task."""

    event_type = "gov.poverty.audit.rectification_started.v1"
    task_id: UUID
    started_by: str


class RectificationSubmitted(FindingEvent):
    """The owning unit submitted the rectification with evidence, for a follow-up check (回头看)."""

    event_type = "gov.poverty.audit.rectification_submitted.v1"
    task_id: UUID
    submission_id: UUID
    submitted_by: str
    evidence_count: int


class RectificationVerified(FindingEvent):
    """A follow-up check (回头看) found the rectification done."""

    event_type = "gov.poverty.audit.rectification_verified.v1"
    task_id: UUID
    check_id: UUID
    verified_by: str


class RectificationRejected(FindingEvent):
    """A follow-up check found the rectification not done: the task is reopened with a new deadline."""

    event_type = "gov.poverty.audit.rectification_rejected.v1"
    task_id: UUID
    check_id: UUID
    checked_by: str
    deadline: datetime


class RectificationReopened(FindingEvent):
    """The problem was found again after its owner reported it rectified (submitted, or even verified): the
    report is contradicted and the task goes back to its owner with a new deadline."""

    event_type = "gov.poverty.audit.rectification_reopened.v1"
    task_id: UUID
    previous_status: Literal["submitted", "verified"]
    occurrences: int
    deadline: datetime


class RectificationClosed(FindingEvent):
    """A verified rectification was closed, and its finding with it."""

    event_type = "gov.poverty.audit.rectification_closed.v1"
    task_id: UUID
    closed_by: str


class RectificationRescheduled(FindingEvent):
    """The district office moved a task's deadline (调整整改期限); the reason stays in audit."""

    event_type = "gov.poverty.audit.rectification_rescheduled.v1"
    task_id: UUID
    previous_deadline: datetime
    deadline: datetime
    changed_by: str


class RectificationDueSoon(FindingEvent):
    """A reminder: the task's deadline is near and it is still the owner's to do."""

    event_type = "gov.poverty.audit.rectification_due_soon.v1"
    task_id: UUID
    owner: str
    deadline: datetime


class RectificationOverdue(FindingEvent):
    """The task passed its deadline unrectified (it is referred to the discipline commission)."""

    event_type = "gov.poverty.audit.rectification_overdue.v1"
    task_id: UUID
    owner: str
    deadline: datetime


class AccountabilityKind(StrEnum):
    """The discipline commission's decisions (问责)."""

    TALK = "talk"  # 约谈
    CRITICISM_NOTICE = "criticism_notice"  # 通报批评
    ADMONISHMENT = "admonishment"  # 诫勉
    SANCTION = "sanction"  # 处分


class AccountabilityActionRecorded(FindingEvent):
    """The discipline commission held someone to account for a referral; names stay in audit."""

    event_type = "gov.poverty.audit.accountability_action_recorded.v1"
    action_id: UUID
    referral_id: UUID
    kind: AccountabilityKind
    decided_on: date


class CampaignKind(StrEnum):
    SELF_ASSESSMENT = "self_assessment"  # 自查评估
    TARGETED_SUPERVISION = "targeted_supervision"  # 挂牌督战
    FOLLOW_UP_CHECK = "follow_up_check"  # 回头看
    DEPARTMENT_VERIFICATION = "department_verification"  # 行业部门核查


class ScopeLevel(StrEnum):
    DISTRICT = "district"
    TOWNSHIP = "township"
    VILLAGE = "village"
    PROJECT = "project"


class InspectionCampaignOpened(IntegrationEvent):
    """An inspection campaign was set up: a self-assessment round, targeted supervision, a follow-up check."""

    event_type = "gov.poverty.audit.inspection_campaign_opened.v1"
    topic = AUDIT_TOPIC
    campaign_id: UUID
    kind: CampaignKind
    scope_level: ScopeLevel
    scope_code: SubjectId  # an area code, or a project's or unit's id (its column holds 64)
    round: int
    starts_on: date
    ends_on: date

    def aggregate_id(self) -> str:
        return str(self.campaign_id)


class LedgerHeadAnchored(IntegrationEvent):
    """The head of audit's tamper-evident log, anchored outside its database

    Published at intervals for the discipline commission to keep: a later check of the log against it catches a
    cut tail (the log ends before `seq`) and a rewrite (the entry at `seq` has another hash), even with every hash
    recomputed. The hash covers the entry at `seq` and, through the chain, every entry before it.
    """

    event_type = "gov.poverty.audit.ledger_head_anchored.v1"
    topic = AUDIT_TOPIC
    anchor_id: UUID
    seq: int = Field(ge=1, description="the sequence number of the log's newest entry when anchored")
    entry_hash: str = Field(pattern=r"^[0-9a-f]{64}$", description="that entry's hash (sha256, lowercase hex)")
    recorded_at: datetime = Field(description="when that entry was recorded")
    anchored_at: datetime

    def aggregate_id(self) -> str:
        return "ledger"  # one key: the anchors stay in order on one partition

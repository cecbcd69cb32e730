"""Events on `audit.events`: findings (问题), rectification (整改) and referrals (线索移交)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from shared.contracts import AUDIT_TOPIC, IntegrationEvent
from shared.contracts.households import ProblemCategory


class Severity(StrEnum):
    GENERAL = "general"
    SERIOUS = "serious"
    SEVERE = "severe"


class SubjectKind(StrEnum):
    HOUSEHOLD = "household"
    PROJECT = "project"
    PAYMENT = "payment"
    UNIT = "unit"


class FindingEvent(IntegrationEvent):
    topic = AUDIT_TOPIC
    finding_id: UUID
    subject_kind: SubjectKind
    subject_id: str

    def aggregate_id(self) -> str:
        return str(self.finding_id)


class FindingRecorded(FindingEvent):
    """A problem became a finding in audit."""

    event_type = "gov.poverty.audit.finding_recorded.v1"
    area_code: str
    category: ProblemCategory
    code: str
    severity: Severity
    description: str


class FindingRecurred(FindingEvent):
    """The same open problem was found again: one more occurrence on the open finding."""

    event_type = "gov.poverty.audit.finding_recurred.v1"
    occurrences: int


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

"""Findings (问题): an inspector's entry, a finding as read, a finding's full history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field, model_validator

from services.audit.schemas.common import EvidenceIn, Output, Prose, Text
from services.audit.schemas.referrals import AccountabilitySummary, DisciplineReferralRead
from services.audit.schemas.tasks import DeadlineChangeRead, FollowUpCheckRead, RectificationTaskRead, SubmissionRead
from shared.areas import TownshipOrVillageCode
from shared.contracts.audit import Severity, SubjectKind
from shared.contracts.households import ProblemCategory
from shared.schemas import RequestBody

UUID_SUBJECTS = frozenset({SubjectKind.HOUSEHOLD, SubjectKind.PROJECT, SubjectKind.PAYMENT})


class FindingCreate(RequestBody):
    """A finding entered by an inspector, with at least one evidence reference."""

    subject_kind: SubjectKind
    subject_id: Annotated[Text, Field(max_length=64)]
    area_code: TownshipOrVillageCode
    category: ProblemCategory
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,59}$", description="stable problem kind, e.g. file_incomplete")
    description: Annotated[Prose, Field(max_length=1000)]
    severity: Severity | None = Field(default=None, description="the inspector's judgement; never below the rules'")
    responsible_unit: Annotated[Prose, Field(max_length=100)] | None = None
    responsible_person: Annotated[Prose, Field(max_length=50)] | None = None
    campaign_id: UUID | None = None
    evidence: list[EvidenceIn] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _subject_id_is_an_id(self) -> FindingCreate:
        self.subject_id = canonical_subject_id(self.subject_kind, self.subject_id)
        return self


def canonical_subject_id(kind: SubjectKind, subject_id: str) -> str:
    """One spelling of a household's, project's or payment's id (lowercase, hyphenated), as events carry it: "{…}",
    "urn:uuid:…" or capitals would otherwise name a second subject. ValueError if it is not an id."""
    if kind not in UUID_SUBJECTS:
        return subject_id
    try:
        return str(UUID(subject_id))
    except ValueError as exc:
        raise ValueError(f"a {kind} is named by its id (a UUID)") from exc


class FindingRead(Output):
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
    last_seen_at: datetime
    campaign_id: UUID | None
    responsible_unit: str | None
    responsible_person: str | None
    recorded_by: str | None
    evidence: list[dict[str, Any]]
    referred_at: datetime | None
    closed_at: datetime | None


class FindingHistoryRead(Output):
    finding: FindingRead
    task: RectificationTaskRead | None
    submissions: list[SubmissionRead]
    checks: list[FollowUpCheckRead]
    deadline_changes: list[DeadlineChangeRead]
    referrals: list[DisciplineReferralRead]
    actions: list[AccountabilitySummary]

"""Findings (问题): an inspector's entry, a finding as read, a finding's full history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import Field, model_validator

from services.audit.models import FindingStatus
from services.audit.schemas.common import DependentFields, EvidenceIn, Output, Prose, Text, when
from services.audit.schemas.referrals import AccountabilitySummary, DisciplineReferralRead
from services.audit.schemas.tasks import DeadlineChangeRead, FollowUpCheckRead, RectificationTaskRead, SubmissionRead
from shared.areas import TownshipOrVillageCode
from shared.contracts.audit import Severity, SubjectKind
from shared.contracts.households import ProblemCategory

UUID_SUBJECTS = frozenset({SubjectKind.HOUSEHOLD, SubjectKind.PROJECT, SubjectKind.PAYMENT})
# Subjects named by their record's id; a unit (单位) is named by its name.
UuidSubject = Literal[SubjectKind.HOUSEHOLD, SubjectKind.PROJECT, SubjectKind.PAYMENT]


class FindingCreate(DependentFields):
    """A finding entered by an inspector, with at least one evidence reference."""

    example: ClassVar[dict[str, Any]] = {
        "subject_kind": "household",
        "subject_id": "5f0c3c1e-8d2a-4b7e-9a61-2d4f6b8c0e13",
        "area_code": "371523101201",
        "category": "housing",
        "code": "housing_unsafe",
        "description": "危房未改造: 东屋北墙开裂, 鉴定为C级",
        "severity": "serious",
        "responsible_unit": "贾寨镇人民政府",
        "evidence": [{"kind": "photo", "reference": "archive://2020/05/371523101201-0017.jpg", "note": "东屋北墙裂缝"}],
    }
    rules: ClassVar[list[dict[str, Any]]] = [
        when("subject_kind", sorted(UUID_SUBJECTS), {"subject_id": {"format": "uuid"}})
    ]

    subject_kind: SubjectKind
    subject_id: Annotated[Text, Field(max_length=64)] = Field(
        description="a household's, project's or payment's id (a UUID, in any of its spellings), or a unit's name"
    )
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
    subject_kind: SubjectKind
    subject_id: str
    area_code: str
    category: ProblemCategory
    code: str
    severity: Severity
    description: str
    status: FindingStatus
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

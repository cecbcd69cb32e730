"""Findings (问题): an inspector's entry, a finding as read, a finding's full history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import Field, TypeAdapter, ValidationError, model_validator

from services.audit.models import FindingStatus
from services.audit.rules.accountability import DECISIONS_PER_FINDING
from services.audit.rules.findings import EVIDENCE_PER_ENTRY, EVIDENCE_PER_FINDING
from services.audit.rules.lifecycle import DEADLINE_CHANGES_PER_TASK, ROUNDS_PER_TASK
from services.audit.rules.referrals import REFERRALS_PER_FINDING
from services.audit.schemas.common import (
    UNIT_NAME_PATTERN,
    DependentFields,
    EvidenceIn,
    Output,
    Prose,
    Text,
    UnitName,
    when,
)
from services.audit.schemas.referrals import AccountabilitySummary, DisciplineReferralRead
from services.audit.schemas.tasks import DeadlineChangeRead, FollowUpCheckRead, RectificationTaskRead, SubmissionRead
from shared.areas import TownshipOrVillageCode
from shared.contracts.accountability import ResponsibleRole
from shared.contracts.audit import Severity, SubjectKind
from shared.contracts.households import ProblemCategory

UUID_SUBJECTS = frozenset({SubjectKind.HOUSEHOLD, SubjectKind.PROJECT, SubjectKind.PAYMENT})
# Subjects named by their record's id; a unit (单位) is named by its name.
UuidSubject = Literal[SubjectKind.HOUSEHOLD, SubjectKind.PROJECT, SubjectKind.PAYMENT]
_UNIT_NAME: TypeAdapter[str] = TypeAdapter(UnitName)


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
        when("subject_kind", sorted(UUID_SUBJECTS), {"subject_id": {"format": "uuid"}}),
        when("subject_kind", [SubjectKind.UNIT], {"subject_id": {"pattern": UNIT_NAME_PATTERN}}),
    ]

    subject_kind: SubjectKind
    subject_id: Annotated[Text, Field(max_length=64)] = Field(
        description="a household's, project's or payment's id (a UUID, in any of its spellings), or a unit's name "
        "(as `responsible_unit`: no `/`, not dots only)"
    )
    area_code: TownshipOrVillageCode
    category: ProblemCategory
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,59}$", description="stable problem kind, e.g. file_incomplete")
    description: Annotated[Prose, Field(max_length=1000)]
    severity: Severity | None = Field(default=None, description="the inspector's judgement; never below the rules'")
    responsible_unit: UnitName | None = Field(
        default=None, description="the unit answering for the problem, named as a `unit` subject is"
    )
    responsible_person: Annotated[Prose, Field(max_length=50)] | None = Field(
        default=None,
        description="named with neither this nor `responsible_unit`, the area's officer answers for the finding",
    )
    found_on: date | None = Field(
        default=None,
        description="when the problem was found (default today; not in the future): the deadline runs "
        "from it, and a problem found more than the district's days before it is recorded is also late reporting",
    )
    campaign_id: UUID | None = None
    evidence: list[EvidenceIn] = Field(min_length=1, max_length=EVIDENCE_PER_ENTRY)

    @model_validator(mode="after")
    def _subject_id_is_an_id(self) -> FindingCreate:
        self.subject_id = canonical_subject_id(self.subject_kind, self.subject_id)
        return self


def canonical_subject_id(kind: SubjectKind, subject_id: str) -> str:
    """One spelling of a household's, project's or payment's id (lowercase, hyphenated), as events carry it: "{…}",
    "urn:uuid:…" or capitals would otherwise name a second subject; a unit's name as `UnitName` allows it (its
    history's path must reach it). ValueError if it is neither."""
    if kind is SubjectKind.UNIT:
        try:
            return _UNIT_NAME.validate_python(subject_id)
        except ValidationError as exc:
            raise ValueError(
                "a unit is named as `responsible_unit` is: no `/`, not dots only, no control character"
            ) from exc
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
    responsible_person_id: str | None = Field(description="the responsible person's login: notifications reach it")
    responsible_role: ResponsibleRole | None
    found_on: date | None = Field(description="when the problem was found; older findings: none")
    recorded_by: str | None
    evidence: list[dict[str, Any]] = Field(
        max_length=EVIDENCE_PER_FINDING, description="references gathered by the finding and its repeats"
    )
    referred_at: datetime | None
    closed_at: datetime | None


class FindingHistoryRead(Output):
    """One finding with every step taken on it; each list is bounded by the rules that make its steps."""

    finding: FindingRead
    task: RectificationTaskRead | None
    submissions: list[SubmissionRead] = Field(max_length=ROUNDS_PER_TASK, description="one a round")
    checks: list[FollowUpCheckRead] = Field(max_length=ROUNDS_PER_TASK, description="at most one a round")
    deadline_changes: list[DeadlineChangeRead] = Field(max_length=DEADLINE_CHANGES_PER_TASK)
    referrals: list[DisciplineReferralRead] = Field(max_length=REFERRALS_PER_FINDING)
    actions: list[AccountabilitySummary] = Field(max_length=DECISIONS_PER_FINDING)

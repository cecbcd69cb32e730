"""Request and response bodies of the audit API (XCreate in, XRead out)."""

from __future__ import annotations

from contextlib import suppress
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer, StringConstraints, model_validator

from services.audit.rules import EvidenceRef
from shared.areas import TownshipOrVillageCode
from shared.contracts.audit import AccountabilityKind, CampaignKind, ScopeLevel, Severity, SubjectKind
from shared.contracts.households import ProblemCategory
from shared.personal_data import ScreenedText
from shared.schemas import RequestBody

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
# What officers write (published in events, kept in the log's sources and packages): no ID-card number in it.
Prose = Annotated[ScreenedText, StringConstraints(strip_whitespace=True, min_length=1)]
# A share such as the rectification rate: exact in the service, a JSON number on the wire.
Ratio = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]
UUID_SUBJECTS = frozenset({SubjectKind.HOUSEHOLD, SubjectKind.PROJECT, SubjectKind.PAYMENT})


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class EvidenceKind(StrEnum):
    PHOTO = "photo"
    DOCUMENT = "document"
    ARCHIVE_RECORD = "archive_record"  # 档案
    SITE_VISIT = "site_visit"
    DATA_RECORD = "data_record"


class EvidenceIn(RequestBody):
    """A reference to evidence kept elsewhere (file store, archive number), never the file itself."""

    kind: EvidenceKind
    reference: Annotated[Text, Field(max_length=300)]  # an archive number may be a long run of digits
    note: Annotated[Prose, Field(max_length=300)] | None = None

    def ref(self) -> EvidenceRef:
        return EvidenceRef(kind=self.kind, reference=self.reference, note=self.note)


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


class DisciplineReferralRead(Output):
    id: UUID
    finding_id: UUID
    reason: str
    referred_at: datetime
    task_id: UUID | None


class HandoverRead(BaseModel):
    referred: int
    referrals: list[DisciplineReferralRead]


class AccountabilityCreate(RequestBody):
    """The commission's decision about a named person."""

    kind: AccountabilityKind
    person_name: Annotated[Prose, Field(max_length=50)]
    person_unit: Annotated[Prose, Field(max_length=100)]
    person_position: Annotated[Prose, Field(max_length=100)] | None = None
    decided_on: date
    notes: Annotated[Prose, Field(max_length=1000)] | None = None


class AccountabilityRead(Output):
    id: UUID
    referral_id: UUID
    finding_id: UUID
    kind: str
    person_name: str
    person_unit: str
    person_position: str | None
    decided_on: date
    notes: str | None
    recorded_by: str
    recorded_at: datetime


class AccountabilitySummary(Output):
    """An accountability decision without the person: for readers who are not the commission."""

    id: UUID
    referral_id: UUID
    kind: str
    decided_on: date


class CampaignCreate(RequestBody):
    name: Annotated[Prose, Field(max_length=200)]
    kind: CampaignKind
    scope_level: ScopeLevel
    scope_code: Annotated[Text, Field(max_length=64)]
    round: int = Field(ge=1, le=50)
    starts_on: date
    ends_on: date
    teams: list[Annotated[Prose, Field(max_length=100)]] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _one_spelling_of_a_project(self) -> CampaignCreate:
        if self.scope_level is ScopeLevel.PROJECT:
            with suppress(ValueError):  # not a UUID: the domain's scope rule says so
                self.scope_code = str(UUID(self.scope_code))
        return self


class CampaignRead(Output):
    id: UUID
    name: str
    kind: str
    scope_level: str
    scope_code: str
    round: int
    starts_on: date
    ends_on: date
    teams: list[str]
    created_by: str
    created_at: datetime


class LedgerBreakRead(Output):
    seq: int
    kind: str
    detail: str


class LedgerVerificationRead(Output):
    ok: bool
    entries_checked: int
    head_seq: int
    head_hash: str
    first_break: LedgerBreakRead | None


class LedgerHeadRead(BaseModel):
    """The chain head, to be signed and kept outside the database."""

    seq: int
    entry_hash: str
    recorded_at: datetime | None
    exported_at: datetime
    algorithm: str
    canonical_form: str


class OpenTaskGroupRead(Output):
    key: str
    total: int
    overdue: int
    by_status: dict[str, int]


class RectificationRateRead(Output):
    township: str
    category: str
    findings: int
    closed: int
    rate: Ratio
    average_days_to_close: float | None


class PeriodActivityRead(Output):
    month: str
    referrals_by_reason: dict[str, int]
    actions_by_kind: dict[str, int]


class FindingHistoryRead(Output):
    finding: FindingRead
    task: RectificationTaskRead | None
    submissions: list[SubmissionRead]
    checks: list[FollowUpCheckRead]
    deadline_changes: list[DeadlineChangeRead]
    referrals: list[DisciplineReferralRead]
    actions: list[AccountabilitySummary]

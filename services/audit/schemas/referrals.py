"""Referrals to the discipline commission (线索移交) and its accountability decisions (问责)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.audit.rules.handover import MAX_PACKAGE_ANCHORS, MAX_PACKAGE_LEADS
from services.audit.rules.lifecycle import TaskStatus
from services.audit.rules.referrals import ReferralReason
from services.audit.schemas.common import Output, Prose
from shared.contracts.accountability import ResponsibleRole
from shared.contracts.audit import AccountabilityKind, Severity, SubjectKind
from shared.contracts.households import ProblemCategory
from shared.schemas import RequestBody


class DisciplineReferralRead(Output):
    id: UUID
    finding_id: UUID
    reason: ReferralReason
    referred_at: datetime
    task_id: UUID | None


class ReferralRead(DisciplineReferralRead):
    """A lead with who answers for its finding now (责任人): the person (none when no one is named), the unit."""

    responsible_person_id: str | None = Field(description="the person's login")
    responsible_person: str | None
    responsible_unit: str | None = Field(
        description="the person's unit, or the township office (`township_office:<township>`) when no one is named"
    )
    responsible_role: ResponsibleRole | None


class HandoverTotals(BaseModel):
    """A week's handover package counted: its leads in all, by reason, by severity (as referred) and by township."""

    total: int
    by_reason: dict[ReferralReason, int]
    by_severity: dict[Severity, int]
    by_township: dict[str, int] = Field(description="by the township's 9-digit code")


class HandoverRead(BaseModel):
    """What a handover made now, and the week's package that holds it."""

    week: str = Field(
        description="the ISO week of the package holding the referrals made: read it at "
        "`/v1/handover-packages/{week}`, its referrals by pages at `/v1/handover-packages/{week}/referrals`",
        examples=["2020-W20"],
    )
    referred: int = Field(description="referrals made now (0 when nothing was left to hand over)")
    referred_at: datetime = Field(description="when they were made: each of them carries this `referred_at`")
    package: HandoverTotals = Field(description="the week's package as it stands with them")


class LeadRead(BaseModel):
    """One lead (线索) of a handover package; times in Asia/Shanghai, to the second."""

    referral_id: UUID
    referred_at: datetime
    reason: ReferralReason
    finding_id: UUID
    severity: Severity = Field(description="the finding's when referred")
    category: ProblemCategory
    code: str
    subject_kind: SubjectKind
    subject_id: str
    township: str
    area_code: str
    description: str
    occurrences: int
    responsible_unit: str = Field(description="empty when the finding names none")
    responsible_person: str = Field(description="empty when the finding names none")
    owner: str = Field(description="the rectification task's owner; empty without a task")
    task_status: TaskStatus | Literal[""] = Field(description="empty without a task")
    deadline: datetime | Literal[""] = Field(description="the task's deadline; empty without a task")


class AnchorRead(BaseModel):
    """A head of the tamper-evident log anchored outside audit's database (times in Asia/Shanghai)."""

    seq: int
    entry_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    recorded_at: datetime = Field(description="when the anchored entry was recorded")
    anchored_at: datetime


class HandoverPackageRead(BaseModel):
    """A week's handover package (线索移交清单) as one JSON document: the serious and severe leads referred in the ISO
    week, in the order made, with their totals. At most `MAX_PACKAGE_LEADS` leads: a larger week is refused (422)
    as JSON and read by pages (`/v1/handover-packages/{week}/referrals`), or as CSV or Markdown."""

    model_config = ConfigDict(populate_by_name=True)

    week: str = Field(examples=["2020-W20"])
    from_: date = Field(alias="from", description="the week's Monday")
    to: date = Field(description="the week's Sunday")
    timezone: Literal["Asia/Shanghai"]
    generated_at: datetime
    total: int
    by_reason: dict[ReferralReason, int]
    by_severity: dict[Severity, int]
    by_township: dict[str, int] = Field(description="by the township's 9-digit code")
    leads: list[LeadRead] = Field(max_length=MAX_PACKAGE_LEADS)
    anchors: list[AnchorRead] = Field(
        max_length=MAX_PACKAGE_ANCHORS,
        description="the heads of the tamper-evident log anchored during the week (`LedgerHeadAnchored`), the newest "
        "1000 at most: keep them to check the log against (`poverty verify-ledger --anchors`)",
    )


class AccountabilityCreate(RequestBody):
    """The commission's decision about a named person: the finding's responsible person and unit unless others are
    given."""

    example: ClassVar[dict[str, Any]] = {
        "kind": "admonishment",
        "person_name": "王小明",
        "person_unit": "贾寨镇人民政府",
        "person_position": "扶贫专干",
        "decided_on": "2020-05-20",
        "notes": "危房改造整改逾期未完成",
    }

    kind: AccountabilityKind
    person_name: Annotated[Prose, Field(max_length=50)] | None = Field(
        default=None, description="default: the finding's responsible person"
    )
    person_unit: Annotated[Prose, Field(max_length=100)] | None = Field(
        default=None, description="default: the finding's responsible unit"
    )
    person_position: Annotated[Prose, Field(max_length=100)] | None = None
    decided_on: date
    notes: Annotated[Prose, Field(max_length=1000)] | None = None


class AccountabilityRead(Output):
    id: UUID
    referral_id: UUID
    finding_id: UUID
    kind: AccountabilityKind
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
    kind: AccountabilityKind
    decided_on: date

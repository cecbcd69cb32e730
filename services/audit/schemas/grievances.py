"""Grievances (群众诉求): intake, triage, reply, the opening of a contact; a grievance as read, with or without its
masked contact; the reveal log; a run of the deadline check."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import Field

from services.audit.models import Grievance
from services.audit.rules.contact_vault import PHONE_PATTERN, Contact
from services.audit.rules.grievances import GrievanceChannel, GrievanceStatus, TriageDecision, is_unanswered
from services.audit.schemas.common import DependentFields, Output, Prose
from shared.areas import TownshipOrVillageCode
from shared.contracts.audit import Severity, SubjectKind
from shared.contracts.households import ProblemCategory
from shared.schemas import RequestBody

_CODE = r"^[a-z][a-z0-9_]{1,59}$"  # a problem code, as an inspector's finding takes it
_NOT_NULL = {"not": {"type": "null"}}


class GrievanceSubject(RequestBody):
    """The household or project a grievance is about, by its id."""

    kind: Literal[SubjectKind.HOUSEHOLD, SubjectKind.PROJECT]
    id: UUID


class ContactIn(RequestBody):
    """How to reach the complainant: sealed at once, shown masked to the district only, opened only with a reason."""

    name: Annotated[Prose, Field(max_length=20)]
    phone: str = Field(
        pattern=PHONE_PATTERN, description="a mobile number (11 digits) or a landline with its area code"
    )

    def contact(self) -> Contact:
        return Contact(name=self.name, phone=self.phone)


class GrievanceCreate(DependentFields):
    """A grievance as taken: an anonymous one carries no `contact`, any other one must (`anonymous` is false unless
    sent). `received_on` is not in the future."""

    example: ClassVar[dict[str, Any]] = {
        "channel": "hotline_12317",
        "received_on": "2020-05-12",
        "area_code": "371523101201",
        "about": {"kind": "household", "id": "5f0c3c1e-8d2a-4b7e-9a61-2d4f6b8c0e13"},
        "about_person": "村党支部书记 李某",
        "summary": "反映村里低保评定不公开, 评议会未公示名单",
        "anonymous": False,
        "contact": {"name": "王秀英", "phone": "13812345678"},
    }
    rules: ClassVar[list[dict[str, Any]]] = [
        {
            "if": {"properties": {"anonymous": {"const": True}}, "required": ["anonymous"]},
            "then": {"properties": {"contact": {"type": "null"}}},
            "else": {"required": ["contact"], "properties": {"contact": {"type": "object"}}},
        }
    ]

    channel: GrievanceChannel
    received_on: date
    area_code: TownshipOrVillageCode = Field(description="where the matter is")
    about: GrievanceSubject | None = None
    about_person: Annotated[Prose, Field(max_length=100)] | None = Field(
        default=None, description="the cadre or officer complained about: name and post (an official role)"
    )
    summary: Annotated[Prose, Field(max_length=2000)] = Field(description="what is reported; no ID-card number")
    anonymous: bool = False
    contact: ContactIn | None = None


class GrievanceTriage(DependentFields):
    """The decision: `finding` (with its `category` and `code`, and the officer's `severity` if graver than the
    rules') or `no_finding` (neither). The `note` says what was found, which the finding publishes as its
    description, or why nothing was."""

    example: ClassVar[dict[str, Any]] = {
        "decision": "finding",
        "note": "经核查, 低保评议名单未公示",
        "category": "policy_delivery",
        "code": "notice_not_posted",
        "severity": "serious",
    }
    rules: ClassVar[list[dict[str, Any]]] = [
        {
            "if": {"properties": {"decision": {"const": TriageDecision.FINDING}}},
            "then": {"required": ["category", "code"], "properties": {"category": _NOT_NULL, "code": _NOT_NULL}},
            "else": {"properties": {"category": {"type": "null"}, "code": {"type": "null"}}},
        }
    ]

    decision: TriageDecision
    note: Annotated[Prose, Field(max_length=1000)]
    category: ProblemCategory | None = None
    code: str | None = Field(default=None, pattern=_CODE, description="stable problem kind, e.g. notice_not_posted")
    severity: Severity | None = Field(default=None, description="the officer's judgement; never below the rules'")


class GrievanceReply(RequestBody):
    """The reply given to the complainant, dated between the day the grievance was received and today."""

    example: ClassVar[dict[str, Any]] = {"replied_on": "2020-05-20", "reply": "已电话答复: 名单已于5月18日公示"}

    replied_on: date
    reply: Annotated[Prose, Field(max_length=2000)]


class ContactRevealRequest(RequestBody):
    """Why the contact is needed; kept with who asked and when."""

    example: ClassVar[dict[str, Any]] = {"reason": "核查需回访举报人"}

    reason: Annotated[Prose, Field(max_length=500)]


class GrievanceSubjectRead(Output):
    kind: SubjectKind
    id: str


class GrievanceRead(Output):
    """A grievance; `contact_masked` only for district-wide readers of a report with a contact (never a township)."""

    id: UUID
    channel: GrievanceChannel
    received_on: date
    area_code: str
    about: GrievanceSubjectRead | None
    about_person: str | None
    summary: str
    anonymous: bool
    contact_masked: str | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="王**, 138****5678; absent for a township office and for an anonymous report",
    )
    status: GrievanceStatus
    response_due_on: date = Field(description="the last day of the reply's term")
    overdue: bool = Field(description="unanswered past `response_due_on`")
    triaged_by: str | None
    triaged_at: datetime | None
    triage_note: str | None
    finding_id: UUID | None
    replied_on: date | None
    reply: str | None
    replied_by: str | None
    unanswered_finding_id: UUID | None
    recorded_by: str
    recorded_at: datetime

    @classmethod
    def of(cls, grievance: Grievance, *, today: date, with_contact: bool) -> GrievanceRead:
        """A grievance as a reader sees it on `today`; its masked contact only `with_contact`."""
        about = None
        if grievance.about_kind is not None and grievance.about_id is not None:
            about = GrievanceSubjectRead(kind=SubjectKind(grievance.about_kind), id=grievance.about_id)
        return cls.model_validate(
            {
                **{name: getattr(grievance, name) for name in _STORED},
                "about": about,
                "contact_masked": grievance.contact_masked if with_contact else None,
                "overdue": is_unanswered(grievance.status, grievance.response_due_on, today),
            }
        )


_STORED = sorted(set(GrievanceRead.model_fields) - {"about", "contact_masked", "overdue"})


class GrievanceContactRead(Output):
    """A complainant's contact, opened; the reveal is recorded (`reveal_id`)."""

    grievance_id: UUID
    name: str
    phone: str
    reveal_id: UUID
    revealed_by: str
    revealed_at: datetime


class ContactRevealRead(Output):
    id: UUID
    grievance_id: UUID
    revealed_by: str
    revealed_at: datetime
    reason: str


class GrievanceCheckRead(Output):
    """What a run of the reply-deadline check did."""

    checked_on: date
    unanswered: int = Field(description="grievances found past their term, each now a `grievance_unanswered` finding")

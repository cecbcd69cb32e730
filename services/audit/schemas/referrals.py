"""Referrals to the discipline commission (线索移交) and its accountability decisions (问责)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field

from services.audit.rules.referrals import ReferralReason
from services.audit.schemas.common import Output, Prose
from shared.contracts.audit import AccountabilityKind
from shared.schemas import RequestBody


class DisciplineReferralRead(Output):
    id: UUID
    finding_id: UUID
    reason: ReferralReason
    referred_at: datetime
    task_id: UUID | None


class HandoverRead(BaseModel):
    referred: int
    referrals: list[DisciplineReferralRead]


class AccountabilityCreate(RequestBody):
    """The commission's decision about a named person."""

    example: ClassVar[dict[str, Any]] = {
        "kind": "admonishment",
        "person_name": "王小明",
        "person_unit": "贾寨镇人民政府",
        "person_position": "扶贫专干",
        "decided_on": "2020-05-20",
        "notes": "危房改造整改逾期未完成",
    }

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

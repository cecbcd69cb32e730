"""Bodies for households and members (户 / 家庭成员), ID-card reveal and search, history and status."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from services.households.rules.vocabulary import DisabilityType, Enrolment, LabourCapacity, SchoolStage
from services.households.schemas.common import IdCardNumber, PastDate
from shared.areas import VillageCode
from shared.contracts.households import HouseholdStatus, MinimumAllowance, ProblemCategory
from shared.personal_data import ScreenedText
from shared.schemas import RequestBody


class MemberFacts(RequestBody):
    """Disability, chronic disease, schooling, labour and medical facts of a member (all optional)."""

    disability_type: DisabilityType | None = None
    disability_grade: int | None = Field(default=None, ge=1, le=4)
    disability_certified_on: PastDate | None = None
    chronic_disease: ScreenedText | None = Field(default=None, min_length=1, max_length=100)
    chronic_disease_approved_on: PastDate | None = None
    school_stage: SchoolStage | None = None
    school_name: ScreenedText | None = Field(default=None, min_length=1, max_length=100)
    enrolment: Enrolment | None = None
    labour_capacity: LabourCapacity | None = None
    medical_insured: bool = False
    premium_subsidised: bool = False
    family_doctor_contract: bool = False


class MemberCreate(MemberFacts):
    name: ScreenedText = Field(min_length=1, max_length=100)
    relationship_to_head: ScreenedText = Field(min_length=1, max_length=30, examples=["head", "spouse", "son"])
    birth_date: PastDate
    id_number: IdCardNumber | None = None


class MemberUpdate(RequestBody):
    """Only the fields sent change; `null` clears an optional fact."""

    name: ScreenedText | None = Field(default=None, min_length=1, max_length=100)
    relationship_to_head: ScreenedText | None = Field(default=None, min_length=1, max_length=30)
    birth_date: PastDate | None = None
    id_number: IdCardNumber | None = None
    disability_type: DisabilityType | None = None
    disability_grade: int | None = Field(default=None, ge=1, le=4)
    disability_certified_on: PastDate | None = None
    chronic_disease: ScreenedText | None = Field(default=None, min_length=1, max_length=100)
    chronic_disease_approved_on: PastDate | None = None
    school_stage: SchoolStage | None = None
    school_name: ScreenedText | None = Field(default=None, min_length=1, max_length=100)
    enrolment: Enrolment | None = None
    labour_capacity: LabourCapacity | None = None
    medical_insured: bool | None = None
    premium_subsidised: bool | None = None
    family_doctor_contract: bool | None = None


class MemberRead(BaseModel):
    id: UUID
    name: str
    relationship_to_head: str
    birth_date: date
    id_number_masked: str | None
    disability_type: str | None
    disability_grade: int | None
    disability_certified_on: date | None
    chronic_disease: str | None
    chronic_disease_approved_on: date | None
    school_stage: str | None
    school_name: str | None
    enrolment: str | None
    labour_capacity: str | None
    medical_insured: bool
    premium_subsidised: bool
    family_doctor_contract: bool


class HouseholdCreate(RequestBody):
    household_code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9-]+$")
    area_code: VillageCode
    head_name: ScreenedText = Field(min_length=1, max_length=100)
    members: list[MemberCreate] = Field(min_length=1, max_length=30)


class HouseholdUpdate(RequestBody):
    head_name: ScreenedText | None = Field(default=None, min_length=1, max_length=100)
    area_code: VillageCode | None = None


class HouseholdRead(BaseModel):
    id: UUID
    household_code: str
    area_code: str
    head_name: str
    registered_at: datetime
    status: HouseholdStatus
    helper_cadre_id: UUID | None
    minimum_allowance: MinimumAllowance
    housing_grade: str | None
    water_safe: bool | None
    members: list[MemberRead]


class IdNumberSearch(RequestBody):
    """Search by ID-card number in the body, never the query string (numbers must not reach access logs)."""

    id_number: IdCardNumber


class RevealRequest(RequestBody):
    reason: ScreenedText = Field(min_length=5, max_length=500, description="why the full number is needed (recorded)")


class RevealRead(BaseModel):
    reveal_id: UUID
    member_id: UUID
    id_number: str


class RevealLogRead(BaseModel):
    id: UUID
    member_id: UUID
    revealed_by: str
    reason: str
    revealed_at: datetime


class ChangeRead(BaseModel):
    id: int
    changed_at: datetime
    actor: str
    action: str
    changes: dict[str, Any]


class StatusChange(RequestBody):
    status: HouseholdStatus
    reason: ScreenedText = Field(min_length=1, max_length=500)
    effective_on: PastDate | None = Field(
        default=None, description="within the current year, not before the last status change; default today"
    )


class GapRead(BaseModel):
    code: str
    category: ProblemCategory
    member_id: UUID | None


class AssessmentRead(BaseModel):
    """Where the household stands against the exit standard (两不愁三保障 + income above the line)."""

    year: int
    member_count: int
    per_capita_income_fen: int
    line_fen: int | None
    monitoring_margin_fen: int | None
    gaps: list[GapRead]
    can_exit: bool

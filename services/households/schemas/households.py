"""Bodies for households and members (户 / 家庭成员), ID-card reveal and search, history and status."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field

from services.households.rules.limits import MAX_GAPS, MAX_MEMBERS
from services.households.rules.members import CHRONIC, DISABILITY, REQUIRED
from services.households.rules.vocabulary import DisabilityType, Enrolment, LabourCapacity, SchoolStage
from services.households.schemas.common import HouseholdCode, IdCardNumber, PastDate, stating, together
from shared.areas import VillageCode
from shared.contracts.households import HouseholdStatus, HousingGrade, MinimumAllowance, ProblemCategory, Relationship
from shared.personal_data import ScreenedText
from shared.schemas import RequestBody

# The family of the examples: the head born 1960-01-01, his spouse, and the son added later (valid check digits).
HEAD = {"name": "张三", "relationship_to_head": "head", "birth_date": "1960-01-01", "id_number": "371523196001010010"}
SPOUSE = {"name": "李四", "relationship_to_head": "spouse", "birth_date": "1962-07-09"}
SON = {"name": "张小明", "relationship_to_head": "son", "birth_date": "2010-05-01", "id_number": "371523201005010038"}
# A subsidised premium (代缴) is paid for basic medical insurance: there is none without it.
PREMIUM_NEEDS_COVER = {
    "if": {"properties": {"premium_subsidised": {"const": True}}, "required": ["premium_subsidised"]},
    "then": {"properties": {"medical_insured": {"const": True}}, "required": ["medical_insured"]},
}


class MemberFacts(RequestBody):
    """Disability, chronic disease, schooling, labour and medical facts of a member (all optional).

    A disability's type, grade and certificate date go together, as do a chronic disease and its approval date;
    a subsidised premium needs basic medical insurance. A certificate or an approval is not dated before the
    member's birth (checked by the use case)."""

    model_config = stating(
        not_null=(*DISABILITY, *CHRONIC), dependentRequired=together(DISABILITY, CHRONIC), **PREMIUM_NEEDS_COVER
    )

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
    """A member (家庭成员); the ID-card number, when given, must carry the birth date."""

    example: ClassVar[dict[str, Any]] = {
        **SON,
        "school_stage": "primary",
        "enrolment": "enrolled",
        "medical_insured": True,
    }

    name: ScreenedText = Field(min_length=1, max_length=100)
    relationship_to_head: Relationship
    birth_date: PastDate
    id_number: IdCardNumber | None = None


class MemberUpdate(RequestBody):
    """Only the fields sent change; `null` clears an optional fact (a required one cannot be cleared)."""

    model_config = stating(not_null=REQUIRED)
    example: ClassVar[dict[str, Any]] = {"enrolment": "dropped_out", "school_stage": "junior_secondary"}

    name: ScreenedText | None = Field(default=None, min_length=1, max_length=100)
    relationship_to_head: Relationship | None = None
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
    relationship_to_head: Relationship
    birth_date: date
    id_number_masked: str | None
    disability_type: DisabilityType | None
    disability_grade: int | None
    disability_certified_on: date | None
    chronic_disease: str | None
    chronic_disease_approved_on: date | None
    school_stage: SchoolStage | None
    school_name: str | None
    enrolment: Enrolment | None
    labour_capacity: LabourCapacity | None
    medical_insured: bool
    premium_subsidised: bool
    family_doctor_contract: bool
    died_on: date | None = Field(default=None, description="死亡注销: kept in the register, not counted after this day")
    death_source: str | None = Field(default=None, description="who reported the death")


class MemberDeath(RequestBody):
    """A member's death (死亡注销) as a registry reports it: the day (not after today, not before the member's
    birth, checked by the use case) and the source."""

    example: ClassVar[dict[str, Any]] = {"died_on": "2020-06-03", "source": "公安户籍注销"}

    died_on: PastDate
    source: ScreenedText = Field(
        min_length=1, max_length=100, description="who reported it, e.g. 公安户籍注销 (police register), 民政殡葬"
    )


class MemberDeathRead(BaseModel):
    """The death recorded: the member is kept in the register, marked dead from `died_on`."""

    household_id: UUID
    member_id: UUID
    died_on: date
    source: str


class HouseholdCreate(RequestBody):
    """A household and its members (the head among them); no two members with the same ID-card number."""

    example: ClassVar[dict[str, Any]] = {
        "household_code": "3715231012010001",
        "area_code": "371523101201",
        "head_name": "张三",
        "members": [{**HEAD, "medical_insured": True}, {**SPOUSE, "medical_insured": True}],
    }

    household_code: HouseholdCode
    area_code: VillageCode
    head_name: ScreenedText = Field(min_length=1, max_length=100)
    members: list[MemberCreate] = Field(min_length=1, max_length=MAX_MEMBERS)


class HouseholdUpdate(RequestBody):
    """Only the fields sent change; neither can be cleared."""

    model_config = stating(not_null=("head_name", "area_code"))
    example: ClassVar[dict[str, Any]] = {"area_code": "371523101202"}

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
    housing_grade: HousingGrade | None
    water_safe: bool | None
    members: list[MemberRead] = Field(max_length=MAX_MEMBERS)


class IdNumberSearch(RequestBody):
    """Search by ID-card number in the body, never the query string (numbers must not reach access logs)."""

    example: ClassVar[dict[str, Any]] = {"id_number": HEAD["id_number"]}

    id_number: IdCardNumber


class IdNumberMatch(BaseModel):
    """The household holding the number (a number belongs to one member at most), or null."""

    household: HouseholdRead | None


class RevealRequest(RequestBody):
    example: ClassVar[dict[str, Any]] = {"reason": "核对低保申请人身份 (dibao application check)"}

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
    """A status decision, effective today unless `effective_on` says otherwise (a day of this year)."""

    # No `effective_on`: any date of a given year would make the example invalid once that year ends.
    example: ClassVar[dict[str, Any]] = {
        "status": "exited_receiving_policies",
        "reason": "两不愁三保障达标, 人均收入高于贫困线 (exit standard met)",
    }

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
    gaps: list[GapRead] = Field(
        max_length=MAX_GAPS, description="income, housing and water at most once each; schooling and cover per member"
    )
    can_exit: bool

"""Request and response bodies of the households API."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.areas import VillageCode
from shared.contracts.households import ProblemCategory
from shared.timeutil import district_today


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class MemberCreate(_Strict):
    name: str = Field(min_length=1, max_length=100)
    relationship_to_head: str = Field(min_length=1, max_length=30, examples=["head", "spouse", "son"])
    birth_date: date

    @field_validator("birth_date")
    @classmethod
    def _not_in_future(cls, value: date) -> date:
        if value > district_today() or value.year < 1900:
            raise ValueError("birth date must be between 1900 and today")
        return value


class HouseholdCreate(_Strict):
    household_code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9-]+$")
    area_code: VillageCode
    head_name: str = Field(min_length=1, max_length=100)
    members: list[MemberCreate] = Field(min_length=1, max_length=30)


class MemberRead(BaseModel):
    id: UUID
    name: str
    relationship_to_head: str
    birth_date: date


class HouseholdRead(BaseModel):
    id: UUID
    household_code: str
    area_code: str
    head_name: str
    registered_at: datetime
    members: list[MemberRead]


class ProblemReport(_Strict):
    """A problem the visitor records explicitly (a dropout, an uninsured member, unsafe water...)."""

    category: ProblemCategory
    code: str = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_]+$", examples=["school_dropout"])
    description: str = Field(min_length=1, max_length=1000)


class VisitCreate(_Strict):
    round: int = Field(ge=1, le=100)
    visited_on: date
    visitor: str = Field(min_length=1, max_length=100)
    observations: str = Field(default="", max_length=4000)
    housing_grade: str | None = Field(default=None, pattern="^[ABCD]$", description="housing safety appraisal A-D")
    problems: list[ProblemReport] = Field(default_factory=list, max_length=50)

    @field_validator("visited_on")
    @classmethod
    def _not_in_future(cls, value: date) -> date:
        if value > district_today():
            raise ValueError("visit date cannot be in the future")
        return value


class ProblemRead(BaseModel):
    id: UUID
    category: str
    code: str
    description: str


class VisitRead(BaseModel):
    id: UUID
    household_id: UUID
    round: int
    visited_on: date
    visitor: str
    housing_grade: str | None
    problems: list[ProblemRead]


class OpenProblemRead(BaseModel):
    finding_id: UUID
    category: str
    code: str
    severity: str
    description: str
    rectification_deadline: datetime | None
    referred: bool

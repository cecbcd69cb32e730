"""Request and response bodies of the projects API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field, field_validator, model_validator

from services.projects import rules
from services.projects.models import ProjectKind
from shared.areas import TownshipOrVillageCode
from shared.money import Fen
from shared.personal_data import ScreenedText
from shared.schemas import RequestBody
from shared.timeutil import PERIOD_PATTERN, district_today

# One spelling of a project's code (项目编号): XM-2020-001 and xm-2020-001 would be two projects, each paid income.
ProjectCode = Annotated[
    str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$"), AfterValidator(str.upper)
]


class ProjectCreate(RequestBody):
    project_code: ProjectCode
    name: Annotated[ScreenedText, Field(min_length=1, max_length=200)]
    kind: ProjectKind
    area_code: TownshipOrVillageCode
    budget_fen: Annotated[Fen, Field(ge=0)]
    started_on: date

    @field_validator("started_on")
    @classmethod
    def _started_within_a_year(cls, value: date) -> date:
        return rules.check_started_on(value, today=district_today())


class ProjectRead(BaseModel):
    id: UUID
    project_code: str
    name: str
    kind: ProjectKind
    area_code: str
    budget_fen: int
    started_on: date
    registered_at: datetime


class ProblemReport(RequestBody):
    """A problem the inspector found with the asset or its operation."""

    code: str = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_]+$", examples=["roof_damaged"])
    description: Annotated[ScreenedText, Field(min_length=1, max_length=1000)]


class InspectionCreate(RequestBody):
    inspected_on: date
    inspector: Annotated[ScreenedText, Field(min_length=1, max_length=100)]
    notes: Annotated[ScreenedText, Field(max_length=4000)] = ""
    problems: list[ProblemReport] = Field(default_factory=list, max_length=50)

    @field_validator("inspected_on")
    @classmethod
    def _not_in_future(cls, value: date) -> date:
        return rules.check_inspected_on(value, today=district_today())

    @model_validator(mode="after")
    def _codes_distinct(self) -> InspectionCreate:
        repeated = rules.repeated_codes(p.code for p in self.problems)
        if repeated:
            raise ValueError(f"problem codes reported more than once: {', '.join(repeated)}")
        return self


class ProblemRead(BaseModel):
    id: UUID
    code: str
    description: str


class InspectionRead(BaseModel):
    id: UUID
    project_id: UUID
    inspected_on: date
    inspector: str
    notes: str
    problems: list[ProblemRead]


class IncomeCreate(RequestBody):
    period: str = Field(pattern=PERIOD_PATTERN, examples=["2020-06"])
    amount_fen: Annotated[Fen, Field(gt=0)]

    @field_validator("period")
    @classmethod
    def _period_begun(cls, value: str) -> str:
        return rules.check_income_period(value, today=district_today())


class IncomeRead(BaseModel):
    id: UUID
    project_id: UUID
    period: str
    amount_fen: int
    recorded_at: datetime


class OpenProblemRead(BaseModel):
    finding_id: UUID
    category: str
    code: str
    severity: str
    description: str
    rectification_deadline: datetime | None
    referred: bool

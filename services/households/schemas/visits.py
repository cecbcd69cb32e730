"""Bodies for visits (走访) and the problems they find, and audit's findings about the household still open."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field

from services.households.schemas.common import PastDate
from shared.contracts.audit import Severity
from shared.contracts.households import HousingGrade, ProblemCategory
from shared.personal_data import ScreenedText
from shared.schemas import RequestBody

MAX_VISIT_PROBLEMS = 50
"""A visit reports at most this many problems; an unsafe grade at the visit may add one more (`housing_unsafe`)."""


class ProblemReport(RequestBody):
    """A problem the visitor records explicitly (a dropout, an uninsured member, unsafe water...)."""

    category: ProblemCategory
    code: ScreenedText = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_]+$", examples=["school_dropout"])
    description: ScreenedText = Field(min_length=1, max_length=1000, description="published to audit; no ID numbers")


class VisitCreate(RequestBody):
    """A visit in an inspection round; a housing grade given is recorded as an appraisal."""

    example: ClassVar[dict[str, Any]] = {
        "round": 2,
        "visited_on": "2020-05-12",
        "visitor": "王帮扶",
        "observations": "户主在家, 孩子未到校",
        "housing_grade": "C",
        "problems": [{"category": "schooling", "code": "school_dropout", "description": "12岁儿子辍学在家"}],
    }

    round: int = Field(ge=1, le=100)
    visited_on: PastDate
    visitor: ScreenedText = Field(min_length=1, max_length=100)
    observations: ScreenedText = Field(default="", max_length=4000)
    housing_grade: HousingGrade | None = Field(default=None, description="housing safety appraisal A-D")
    problems: list[ProblemReport] = Field(default_factory=list, max_length=MAX_VISIT_PROBLEMS)


class ProblemRead(BaseModel):
    id: UUID
    category: ProblemCategory
    code: str
    description: str


class VisitRead(BaseModel):
    id: UUID
    household_id: UUID
    round: int
    visited_on: date
    visitor: str
    observations: str
    housing_grade: HousingGrade | None
    problems: list[ProblemRead] = Field(
        max_length=MAX_VISIT_PROBLEMS + 1, description="those reported, plus `housing_unsafe` for a C/D grade"
    )


class OpenFindingRead(BaseModel):
    """Audit's finding about the household, while its rectification is open."""

    finding_id: UUID
    category: ProblemCategory
    code: str
    severity: Severity
    description: str
    rectification_deadline: datetime | None
    referred: bool

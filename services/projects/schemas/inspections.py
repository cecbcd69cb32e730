"""Bodies of a project inspection (两看一及时) and the problems it found."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field, model_validator
from pydantic_core import PydanticCustomError

from services.projects.rules.inspections import repeated_codes
from services.projects.schemas.codes import PROBLEM_CODE, ProblemCode
from shared.contracts.audit import Severity
from shared.personal_data import ScreenedText
from shared.schemas import RequestBody


class ProblemReport(RequestBody):
    """A problem the inspector found with the asset or its operation."""

    example: ClassVar[dict[str, Any]] = {"code": "roof_damaged", "description": "大棚棚膜破损"}

    code: ProblemCode
    description: Annotated[ScreenedText, Field(min_length=1, max_length=1000)]
    severity: Severity | None = Field(
        default=None,
        description="how grave the inspector judges it: an asset missing or income diverted is `severe`, which "
        "audit refers to the discipline commission at once; none: audit grades it by its own policy",
    )


MAX_INSPECTION_PROBLEMS = 50
"""An inspection reports at most this many problems; it is all its record ever holds (none are added later)."""


class InspectionCreate(RequestBody):
    example: ClassVar[dict[str, Any]] = {
        "inspected_on": "2020-05-12",
        "inspector": "项目专班 王五",
        "notes": "看外观, 看运营",
        "problems": [
            {"code": "roof_damaged", "description": "大棚棚膜破损"},
            {"code": "income_not_paid", "description": "一季度收益未到位", "severity": "serious"},
        ],
    }

    inspected_on: date = Field(description="not in the future, not before the project started")
    inspector: Annotated[ScreenedText, Field(min_length=1, max_length=100)]
    notes: Annotated[ScreenedText, Field(max_length=4000)] = ""
    problems: list[ProblemReport] = Field(
        default_factory=list,
        max_length=MAX_INSPECTION_PROBLEMS,
        description="each problem code at most once (refused otherwise with the code `repeated_problem_code`)",
    )

    @model_validator(mode="after")
    def _codes_distinct(self) -> InspectionCreate:
        # JSON Schema cannot say "unique by code", so the document says it in words and the refusal has its own code.
        repeated = repeated_codes(p.code for p in self.problems)
        if repeated:
            raise PydanticCustomError(
                "repeated_problem_code",
                "problem codes reported more than once: {codes}",
                {"codes": ", ".join(repeated)},
            )
        return self


class ProblemRead(BaseModel):
    id: UUID
    code: str = Field(pattern=PROBLEM_CODE)
    description: str
    severity: Severity | None


class InspectionRead(BaseModel):
    id: UUID
    project_id: UUID
    inspected_on: date
    inspector: str
    notes: str
    problems: list[ProblemRead] = Field(max_length=MAX_INSPECTION_PROBLEMS, description="what the inspection reported")

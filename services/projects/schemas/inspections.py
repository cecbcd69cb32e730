"""Bodies of a project inspection (两看一及时) and the problems it found."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from services.projects.rules.inspections import repeated_codes
from shared.personal_data import ScreenedText
from shared.schemas import RequestBody


class ProblemReport(RequestBody):
    """A problem the inspector found with the asset or its operation."""

    code: str = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_]+$", examples=["roof_damaged"])
    description: Annotated[ScreenedText, Field(min_length=1, max_length=1000)]


class InspectionCreate(RequestBody):
    inspected_on: date = Field(description="not in the future, not before the project started")
    inspector: Annotated[ScreenedText, Field(min_length=1, max_length=100)]
    notes: Annotated[ScreenedText, Field(max_length=4000)] = ""
    problems: list[ProblemReport] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _codes_distinct(self) -> InspectionCreate:
        repeated = repeated_codes(p.code for p in self.problems)
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

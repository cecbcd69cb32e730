"""Bodies of employment workshops (就业工场, 扶贫车间), the poor households' members they employ and their wages."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field, model_validator
from pydantic_core import PydanticCustomError

from services.projects.rules.vocabulary import WorkshopKind
from shared.api.pagination import Page
from shared.areas import TownshipOrVillageCode
from shared.money import Fen
from shared.personal_data import ScreenedText
from shared.schemas import Period, RequestBody

MAX_WAGE_LINES = 1_000
"""The most wages one request records: a workshop's month (the report's largest employs 130)."""


class WorkshopCreate(RequestBody):
    example: ClassVar[dict[str, Any]] = {
        "name": "同心就业工场",
        "kind": "employment_workshop",
        "area_code": "371523101",
        "operator": "同心服饰有限公司",
    }

    name: Annotated[ScreenedText, Field(min_length=1, max_length=200)]
    kind: WorkshopKind
    area_code: TownshipOrVillageCode
    project_id: UUID | None = Field(default=None, description="the industrial project that built it, if any")
    parent_id: UUID | None = Field(
        default=None, description="the workshop this one is a branch of (分厂), itself not a branch"
    )
    operator: Annotated[ScreenedText, Field(min_length=1, max_length=200, description="who runs it (经营主体)")]


class WorkshopRead(BaseModel):
    id: UUID
    name: str
    kind: WorkshopKind
    area_code: str
    project_id: UUID | None
    parent_id: UUID | None
    operator: str
    registered_at: datetime
    workers: int = Field(description="members employed today")
    branch_count: int = Field(description="its branches (0 for a branch)")
    workers_with_branches: int = Field(description="members employed today by it and its branches")


class EmploymentCreate(RequestBody):
    example: ClassVar[dict[str, Any]] = {
        "household_id": "6f1d1bb0-0000-4000-8000-000000000001",
        "member_id": "6f1d1bb0-0000-4000-8000-000000000002",
        "monthly_wage_fen": 180_000,
        "started_on": "2020-03-01",
    }

    household_id: UUID
    member_id: UUID = Field(description="a living member of the household, on the roll")
    monthly_wage_fen: Annotated[Fen, Field(gt=0)]
    started_on: date


class EmploymentEnd(RequestBody):
    example: ClassVar[dict[str, Any]] = {"ended_on": "2020-06-30"}

    ended_on: date = Field(description="the last day worked: not before the start, not after today")


class EmploymentRead(BaseModel):
    id: UUID
    workshop_id: UUID
    household_id: UUID
    member_id: UUID
    monthly_wage_fen: int
    started_on: date
    ended_on: date | None
    recorded_at: datetime


class WageLine(RequestBody):
    example: ClassVar[dict[str, Any]] = {"employment_id": "6f1d1bb0-0000-4000-8000-000000000003", "amount_fen": 180_000}

    employment_id: UUID = Field(description="an employment of this workshop, live on some day of the month")
    amount_fen: Annotated[Fen, Field(gt=0)]


class WagesCreate(RequestBody):
    example: ClassVar[dict[str, Any]] = {
        "period": "2020-06",
        "lines": [{"employment_id": "6f1d1bb0-0000-4000-8000-000000000003", "amount_fen": 180_000}],
    }

    period: Period = Field(description="a month that has begun")
    lines: list[WageLine] = Field(
        min_length=1,
        max_length=MAX_WAGE_LINES,
        description="one wage per employment (refused otherwise with the code `repeated_employment`)",
    )

    @model_validator(mode="after")
    def _employments_distinct(self) -> WagesCreate:
        # JSON Schema cannot say "unique by employment", so the document says it in words.
        counts = Counter(line.employment_id for line in self.lines)
        if repeated := sorted(str(e) for e, n in counts.items() if n > 1):
            raise PydanticCustomError(
                "repeated_employment", "employments paid twice: {ids}", {"ids": ", ".join(repeated)}
            )
        return self


class WageRead(BaseModel):
    id: UUID
    employment_id: UUID
    workshop_id: UUID
    household_id: UUID
    member_id: UUID
    period: str
    amount_fen: int
    recorded_at: datetime


class WagesRecorded(BaseModel):
    """The wages of one request: one per line, in the lines' order."""

    workshop_id: UUID
    period: str
    total_fen: int
    wages: list[WageRead] = Field(max_length=MAX_WAGE_LINES)


class WagePage(Page[WageRead]):
    total_fen: int | None = Field(description="with `period`: every wage the workshop recorded for that month")

"""Bodies of a project (产业扶贫项目): its registration and how it reads."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field

from services.projects.models import ProjectKind
from shared.areas import TownshipOrVillageCode
from shared.money import Fen
from shared.personal_data import ScreenedText
from shared.schemas import RequestBody

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
    started_on: date = Field(description="within a year of registration")


class ProjectRead(BaseModel):
    id: UUID
    project_code: str
    name: str
    kind: ProjectKind
    area_code: str
    budget_fen: int
    started_on: date
    registered_at: datetime

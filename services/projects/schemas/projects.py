"""Bodies of a project (产业扶贫项目): its registration and how it reads."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field

from shared.areas import TownshipOrVillageCode
from shared.contracts.projects import ProjectKind
from shared.money import Fen
from shared.personal_data import ScreenedText
from shared.schemas import RequestBody

# One spelling of a project's code (项目编号): XM-2020-001 and xm-2020-001 would be two projects, each paid income.
ProjectCode = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32,
        pattern=r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$",
        description="项目编号: letters and digits between single dashes, kept in capitals",
    ),
    AfterValidator(str.upper),
]


class ProjectCreate(RequestBody):
    example: ClassVar[dict[str, Any]] = {
        "project_code": "XM-2020-001",
        "name": "贾寨镇扶贫大棚",
        "kind": "greenhouse",
        "area_code": "371523101201",
        "budget_fen": 150_000_000,
        "started_on": "2020-03-01",
    }

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

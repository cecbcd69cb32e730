"""Bodies of a project (产业扶贫项目): its registration and how it reads."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field

from services.projects.schemas.codes import ProjectCode
from shared.areas import TownshipOrVillageCode
from shared.contracts.projects import ProjectKind, ProjectStatus
from shared.money import Fen
from shared.personal_data import ScreenedText
from shared.schemas import RequestBody


class ProjectCreate(RequestBody):
    example: ClassVar[dict[str, Any]] = {
        "project_code": "XM-2020-001",
        "name": "贾寨镇扶贫大棚",
        "kind": "greenhouse",
        "area_code": "371523101201",
        "budget_fen": 150_000_000,
        "started_on": "2020-03-01",
        "manager_id": "jiazhai-zhang",
        "manager_name": "贾寨镇副镇长 张伟",
        "acceptance_due_on": "2020-08-31",
    }

    project_code: ProjectCode
    name: Annotated[ScreenedText, Field(min_length=1, max_length=200)]
    kind: ProjectKind
    area_code: TownshipOrVillageCode
    budget_fen: Annotated[Fen, Field(ge=0)]
    started_on: date = Field(description="within a year of registration")
    manager_id: Annotated[
        ScreenedText,
        Field(
            min_length=1,
            max_length=100,
            description="the responsible officer's token subject: never the officer who accepts the project (验收)",
        ),
    ]
    manager_name: Annotated[
        ScreenedText, Field(min_length=1, max_length=100, description="项目负责人: the responsible officer")
    ]
    acceptance_due_on: date | None = Field(
        default=None, description="验收 by this day (not before the start); approval (批复) needs it"
    )


class ProjectRead(BaseModel):
    id: UUID
    project_code: str
    name: str
    kind: ProjectKind
    area_code: str
    budget_fen: int
    started_on: date
    registered_at: datetime
    status: ProjectStatus
    status_changed_at: datetime | None
    manager_id: str | None = Field(description="None for a project registered before managers were kept")
    manager_name: str | None
    acceptance_due_on: date | None
    overdue: bool = Field(
        description="a milestone past its due day and not completed, or the acceptance due day passed while the "
        "project is not accepted (judged on the request's day)"
    )

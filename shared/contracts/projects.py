"""Events on `projects.events`: industrial projects (产业扶贫项目)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from uuid import UUID

from pydantic import Field

from shared.contracts import PROJECTS_TOPIC, AreaCode, IntegrationEvent
from shared.timeutil import PERIOD_PATTERN


class ProjectKind(StrEnum):
    """Kinds of industrial project: 扶贫大棚 / 光伏 / 养殖 / 就业工场 / 其他 (the value of `ProjectRegistered.kind`)."""

    GREENHOUSE = "greenhouse"
    PHOTOVOLTAIC = "photovoltaic"
    LIVESTOCK = "livestock"
    EMPLOYMENT_WORKSHOP = "employment_workshop"
    OTHER = "other"


class ProjectEvent(IntegrationEvent):
    topic = PROJECTS_TOPIC
    project_id: UUID

    def aggregate_id(self) -> str:
        return str(self.project_id)


class ProjectRegistered(ProjectEvent):
    """An industrial project entered the project stock (项目库)."""

    event_type = "gov.poverty.projects.project_registered.v1"
    name: str
    kind: str
    area_code: AreaCode
    budget_fen: int = Field(ge=0)


class ProjectProblemFound(ProjectEvent):
    """A project inspection (两看一及时) found a problem with the asset or its operation."""

    event_type = "gov.poverty.projects.problem_found.v1"
    problem_id: UUID
    area_code: AreaCode
    code: str
    description: str
    found_on: date
    found_by: str


class ProjectIncomeRecorded(ProjectEvent):
    """A project's income (收益) arrived and is to be distributed to poor households."""

    event_type = "gov.poverty.projects.income_recorded.v1"
    income_id: UUID
    period: str = Field(pattern=PERIOD_PATTERN)
    amount_fen: int = Field(gt=0)

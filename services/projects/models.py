"""Tables of the projects service: industrial projects (产业扶贫项目), inspections, income, open findings."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID, uuid4

from sqlalchemy import BigInteger, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.open_findings import OpenFindingFields
from shared.timeutil import UTCDateTime


class Project(SQLModel, table=True):
    """An industrial project (产业扶贫项目) in a township or village."""

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    project_code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=30)  # a ProjectKind
    area_code: str = Field(max_length=12, index=True)
    budget_fen: int = Field(sa_type=BigInteger)
    started_on: date
    registered_at: datetime = Field(sa_type=UTCDateTime)


class ProjectInspection(SQLModel, table=True):
    """A project inspection (两看一及时): look at the asset, look at the operation, fix promptly."""

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    project_id: UUID = Field(foreign_key="project.id", index=True)
    inspected_on: date
    inspector: str = Field(max_length=100)
    notes: str = Field(default="", max_length=4000)


class ProjectProblem(SQLModel, table=True):
    """A problem an inspection found; each is published for audit to turn into a finding."""

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    inspection_id: UUID = Field(foreign_key="projectinspection.id", index=True)
    project_id: UUID = Field(foreign_key="project.id", index=True)
    code: str = Field(max_length=60)
    description: str = Field(max_length=1000)


class ProjectIncome(SQLModel, table=True):
    """A project's income (收益) for one period; one record per project and period."""

    __table_args__ = (UniqueConstraint("project_id", "period", name="uq_projectincome_project_period"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    project_id: UUID = Field(foreign_key="project.id", index=True)
    period: str = Field(max_length=7)
    amount_fen: int = Field(sa_type=BigInteger)
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class ProjectOpenFinding(OpenFindingFields, table=True):
    """A finding of audit's about a project, as audit tracks it until closed (read model fed by `audit.events`)."""

    __tablename__ = "projectopenproblem"  # kept from before the rename, so no migration

    project_id: UUID = Field(index=True)

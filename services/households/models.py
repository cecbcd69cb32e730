"""Tables of the household registry (建档立卡)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID, uuid4

from sqlmodel import Field, SQLModel

from shared.timeutil import UTCDateTime, utcnow


class Household(SQLModel, table=True):
    """A registered poor household (建档立卡贫困户)."""

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    household_code: str = Field(max_length=32, unique=True)
    area_code: str = Field(max_length=12, index=True)
    head_name: str = Field(max_length=100)
    registered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Member(SQLModel, table=True):
    """A member of a household (家庭成员), the head included."""

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    household_id: UUID = Field(foreign_key="household.id", index=True)
    name: str = Field(max_length=100)
    relationship_to_head: str = Field(max_length=30)
    birth_date: date


class Visit(SQLModel, table=True):
    """A visit to a household (走访/入户排查) in an inspection round."""

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    household_id: UUID = Field(foreign_key="household.id", index=True)
    round: int
    visited_on: date
    visitor: str = Field(max_length=100)
    observations: str = Field(default="", max_length=4000)
    housing_grade: str | None = Field(default=None, max_length=1)


class VisitProblem(SQLModel, table=True):
    """A problem a visit found; each is published for audit to turn into a finding."""

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    visit_id: UUID = Field(foreign_key="visit.id", index=True)
    household_id: UUID = Field(foreign_key="household.id", index=True)
    category: str = Field(max_length=30)
    code: str = Field(max_length=60)
    description: str = Field(max_length=1000)


class OpenProblem(SQLModel, table=True):
    """A household's problem as audit tracks it (read model fed by `audit.events`)."""

    finding_id: UUID = Field(primary_key=True)
    household_id: UUID = Field(index=True)
    category: str = Field(max_length=30)
    code: str = Field(max_length=60)
    severity: str = Field(max_length=20)
    description: str = Field(max_length=1000)
    rectification_deadline: datetime | None = Field(default=None, sa_type=UTCDateTime)
    referred: bool = False
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

"""Events on `households.events`: the registry of registered poor households (建档立卡贫困户)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from uuid import UUID

from pydantic import Field

from shared.contracts import HOUSEHOLDS_TOPIC, IntegrationEvent


class ProblemCategory(StrEnum):
    """What kind of gap a problem is; the same words audit uses for findings."""

    HOUSING = "housing"
    SCHOOLING = "schooling"
    MEDICAL = "medical"
    WATER = "water"
    INCOME = "income"
    POLICY_DELIVERY = "policy_delivery"
    FUNDS = "funds"
    PROJECT = "project"
    CONDUCT = "conduct"


class HouseholdEvent(IntegrationEvent):
    topic = HOUSEHOLDS_TOPIC
    household_id: UUID

    def aggregate_id(self) -> str:
        return str(self.household_id)


class HouseholdRegistered(HouseholdEvent):
    """A household entered the registry (建档立卡)."""

    event_type = "gov.poverty.households.household_registered.v1"
    household_code: str
    area_code: str
    member_count: int = Field(ge=1)


class HouseholdProblemFound(HouseholdEvent):
    """A visit (走访/入户排查) found a problem, e.g. a D-grade house or a child out of school."""

    event_type = "gov.poverty.households.problem_found.v1"
    problem_id: UUID
    visit_id: UUID
    area_code: str
    category: ProblemCategory
    code: str = Field(description="stable problem kind, e.g. housing_unsafe, school_dropout")
    description: str
    housing_grade: str | None = Field(default=None, pattern="^[ABCD]$")
    found_on: date
    found_by: str

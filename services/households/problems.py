"""Publishing a household's problems for audit (问题 -> 整改): from visits, department data and monitoring."""

from __future__ import annotations

from datetime import date
from typing import NotRequired, TypedDict, Unpack
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from services.households.events import publish
from services.households.models import Household
from shared.contracts.households import HouseholdProblemFound, ProblemCategory


class Problem(TypedDict):
    """What is said of one problem found (the event's fields but the household's)."""

    category: ProblemCategory
    code: str
    description: str
    found_on: date
    found_by: str
    problem_id: NotRequired[UUID | None]
    visit_id: NotRequired[UUID | None]
    housing_grade: NotRequired[str | None]


def report_problem(session: AsyncSession, household: Household, **problem: Unpack[Problem]) -> None:
    """Publish one problem; audit turns it into a finding with a rectification task."""
    publish(session, problem_event(household.id, household.area_code, **problem))


def problem_event(household_id: UUID, area_code: str, **problem: Unpack[Problem]) -> HouseholdProblemFound:
    """The event of one problem found (pure: the bulk import writes it with its rows)."""
    return HouseholdProblemFound(
        household_id=household_id,
        area_code=area_code,
        **{**problem, "problem_id": problem.get("problem_id") or uuid4()},
    )

"""Publishing a household's problems for audit (问题 -> 整改): from visits, department data and monitoring."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from services.households.events import publish
from services.households.models import Household
from shared.contracts.households import HouseholdProblemFound, ProblemCategory


def report_problem(
    session: AsyncSession,
    household: Household,
    *,
    category: ProblemCategory,
    code: str,
    description: str,
    found_on: date,
    found_by: str,
    problem_id: UUID | None = None,
    visit_id: UUID | None = None,
    housing_grade: str | None = None,
) -> None:
    """Publish one problem; audit turns it into a finding with a rectification task."""
    event = problem_event(
        household.id,
        household.area_code,
        category=category,
        code=code,
        description=description,
        found_on=found_on,
        found_by=found_by,
        problem_id=problem_id,
        visit_id=visit_id,
        housing_grade=housing_grade,
    )
    publish(session, event)


def problem_event(
    household_id: UUID,
    area_code: str,
    *,
    category: ProblemCategory,
    code: str,
    description: str,
    found_on: date,
    found_by: str,
    problem_id: UUID | None = None,
    visit_id: UUID | None = None,
    housing_grade: str | None = None,
) -> HouseholdProblemFound:
    """The event of one problem found (pure: the bulk import writes it with its rows)."""
    return HouseholdProblemFound(
        household_id=household_id,
        problem_id=problem_id or uuid4(),
        visit_id=visit_id,
        area_code=area_code,
        category=category,
        code=code,
        description=description,
        housing_grade=housing_grade,
        found_on=found_on,
        found_by=found_by,
    )

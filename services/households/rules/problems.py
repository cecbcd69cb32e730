"""A problem found at a household (问题), as audit is told of it: the HouseholdProblemFound event."""

from __future__ import annotations

from datetime import date
from typing import NotRequired, TypedDict, Unpack
from uuid import UUID

from shared.contracts.accountability import ResponsiblePerson, ResponsibleRole
from shared.contracts.households import HouseholdProblemFound, ProblemCategory
from shared.ids import uuid7


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
    responsible: NotRequired[ResponsiblePerson | None]  # the household's helper cadre (帮扶责任人), when assigned


def problem_event(household_id: UUID, area_code: str, **problem: Unpack[Problem]) -> HouseholdProblemFound:
    """The event of one problem found (the bulk import writes it with its rows, the use cases publish it)."""
    return HouseholdProblemFound(
        household_id=household_id,
        area_code=area_code,
        **{**problem, "problem_id": problem.get("problem_id") or uuid7()},
    )


def helper_cadre(subject: str, name: str, unit: str) -> ResponsiblePerson:
    """A helper cadre (帮扶责任人) as a problem's responsible person: their login, name and unit (cut to what events
    carry: a cadre's name to 50 characters, the unit to 100)."""
    return ResponsiblePerson(person_id=subject, name=name[:50], unit=unit[:100], role=ResponsibleRole.HELPER_CADRE)

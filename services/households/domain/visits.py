"""Visits (走访/入户排查) in inspection rounds; every problem a visit finds is published for audit."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.domain import history, housing
from services.households.domain.problems import report_problem
from services.households.events import publish
from services.households.models import Household, Visit, VisitProblem
from services.households.rules.dates import ensure_happened
from services.households.rules.housing import AppraisalFacts
from services.households.rules.visits import ProblemNoted, problems_from_visit
from services.households.rules.vocabulary import UNSAFE_GRADES, AppraisalSource
from shared.contracts.households import ProblemCategory, VisitRecorded
from shared.db import keyset


async def record_visit(
    session: AsyncSession,
    household: Household,
    *,
    round_no: int,
    visited_on: date,
    visitor: str,
    observations: str,
    housing_grade: str | None,
    noted: Sequence[ProblemNoted],
    actor: str,
    renovation_days: int,
    now: datetime,
    today: date,
) -> tuple[Visit, list[VisitProblem]]:
    """Record a visit; every problem it found is published for audit (问题 -> 整改).

    A housing grade given at the visit is an appraisal like any other: it re-grades the house (the exit standard
    and the statistics read it) and a C/D house is published once, by the appraisal, with its renovation deadline.
    """
    ensure_happened(today, {"visited_on": visited_on})
    visit = Visit(
        household_id=household.id,
        round=round_no,
        visited_on=visited_on,
        visitor=visitor,
        observations=observations,
        housing_grade=housing_grade,
    )
    session.add(visit)
    problems = [
        VisitProblem(
            visit_id=visit.id, household_id=household.id, category=p.category, code=p.code, description=p.description
        )
        for p in problems_from_visit(noted, housing_grade)
    ]
    if problems:
        # The visit is written first: its problems reference it, and one flush would order the two tables by their
        # classes' names, not by the key (the models declare no relationship). A visit without problems needs none.
        await session.flush()
        session.add_all(problems)
    await _announce(session, household, visit, problems, actor, now=now)
    if housing_grade is not None:
        appraisal = AppraisalFacts(housing_grade, visited_on, visitor)
        await housing.record_appraisal(
            session,
            household,
            appraisal,
            source=AppraisalSource.VISIT,
            actor=actor,
            default_days=renovation_days,
            now=now,
            today=today,
            visit_id=visit.id,
        )
    return visit, problems


async def _announce(
    session: AsyncSession,
    household: Household,
    visit: Visit,
    problems: list[VisitProblem],
    actor: str,
    *,
    now: datetime,
) -> None:
    changes = {"visit_id": visit.id, "round": visit.round, "problems": [p.code for p in problems]}
    history.note(session, household.id, actor=actor, action="visit.recorded", changes=changes, now=now)
    publish(
        session,
        VisitRecorded(
            household_id=household.id,
            visit_id=visit.id,
            area_code=household.area_code,
            round=visit.round,
            visited_on=visit.visited_on,
            problem_count=len(problems),
        ),
    )
    for problem in problems:
        if problem.code == "housing_unsafe" and visit.housing_grade in UNSAFE_GRADES:
            continue  # the visit's appraisal publishes it, with its renovation deadline
        await report_problem(
            session,
            household,
            category=ProblemCategory(problem.category),
            code=problem.code,
            description=problem.description,
            found_on=visit.visited_on,
            found_by=actor,
            problem_id=problem.id,
            visit_id=visit.id,
            housing_grade=visit.housing_grade if problem.code == "housing_unsafe" else None,
        )


async def visits_page(
    session: AsyncSession, household: Household, *, after: tuple[date, int, UUID] | None, limit: int
) -> list[Visit]:
    """Up to `limit` of the household's visits in (visited_on, round, id) order after the cursor key."""
    order = (col(Visit.visited_on), col(Visit.round), col(Visit.id))
    stmt = select(Visit).where(col(Visit.household_id) == household.id)
    return list((await session.scalars(keyset(stmt, order, after, limit=limit))).all())


async def problems_of(session: AsyncSession, visits: Sequence[Visit]) -> dict[UUID, list[VisitProblem]]:
    """The problems each of `visits` found, by visit id, in one query."""
    found: dict[UUID, list[VisitProblem]] = defaultdict(list)
    stmt = select(VisitProblem).where(col(VisitProblem.visit_id).in_([v.id for v in visits]))
    for problem in (await session.scalars(stmt.order_by(col(VisitProblem.code), col(VisitProblem.id)))).all():
        found[problem.visit_id].append(problem)
    return found

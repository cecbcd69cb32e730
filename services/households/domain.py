"""Household registry rules: registration and visits (no HTTP, no Kafka; the outbox carries events)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.models import Household, Member, OpenProblem, Visit, VisitProblem
from services.households.schemas import HouseholdCreate, ProblemReport, VisitCreate
from shared.auth import Principal
from shared.contracts.households import HouseholdProblemFound, HouseholdRegistered, ProblemCategory
from shared.errors import Conflict, NotFound
from shared.messaging.outbox import record_event

SOURCE = "/services/households"
UNSAFE_GRADES = {"C", "D"}


async def register_household(session: AsyncSession, data: HouseholdCreate, *, actor: Principal) -> Household:
    """Enter a household and its members in the registry (建档立卡)."""
    actor.ensure_reach(data.area_code)
    household = Household(household_code=data.household_code, area_code=data.area_code, head_name=data.head_name)
    session.add(household)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("A household with this household code already exists.") from exc
    session.add_all(Member(household_id=household.id, **m.model_dump()) for m in data.members)
    await record_event(
        session,
        HouseholdRegistered(
            household_id=household.id,
            household_code=household.household_code,
            area_code=household.area_code,
            member_count=len(data.members),
        ),
        source=SOURCE,
    )
    return household


async def get_household(session: AsyncSession, household_id: UUID, *, actor: Principal) -> Household:
    """A household the actor may reach, or NotFound/Forbidden."""
    household = await session.get(Household, household_id)
    if household is None:
        raise NotFound("No household has this id.")
    actor.ensure_reach(household.area_code)
    return household


async def members_of(session: AsyncSession, household_id: UUID) -> list[Member]:
    return list((await session.scalars(select(Member).where(col(Member.household_id) == household_id))).all())


def problems_from_visit(visit: VisitCreate) -> list[ProblemReport]:
    """The problems a visit found: those reported, plus an unsafe house (C/D appraisal, 危房) if graded so."""
    problems = list(visit.problems)
    if visit.housing_grade in UNSAFE_GRADES and not any(p.code == "housing_unsafe" for p in problems):
        problems.append(
            ProblemReport(
                category=ProblemCategory.HOUSING,
                code="housing_unsafe",
                description=f"Housing appraised grade {visit.housing_grade} (unsafe) at the visit.",
            )
        )
    return problems


async def record_visit(
    session: AsyncSession, household: Household, data: VisitCreate, *, actor: Principal
) -> tuple[Visit, list[VisitProblem]]:
    """Record a visit; every problem it found is published for audit (问题 -> 整改)."""
    visit = Visit(
        household_id=household.id,
        round=data.round,
        visited_on=data.visited_on,
        visitor=data.visitor,
        observations=data.observations,
        housing_grade=data.housing_grade,
    )
    session.add(visit)
    await session.flush()  # problems reference it
    problems = [
        VisitProblem(
            visit_id=visit.id, household_id=household.id, category=p.category, code=p.code, description=p.description
        )
        for p in problems_from_visit(data)
    ]
    session.add_all(problems)
    for problem in problems:
        await record_event(
            session,
            HouseholdProblemFound(
                household_id=household.id,
                problem_id=problem.id,
                visit_id=visit.id,
                area_code=household.area_code,
                category=ProblemCategory(problem.category),
                code=problem.code,
                description=problem.description,
                housing_grade=data.housing_grade if problem.code == "housing_unsafe" else None,
                found_on=data.visited_on,
                found_by=actor.subject,
            ),
            source=SOURCE,
        )
    return visit, problems


async def open_problems(session: AsyncSession, household_id: UUID) -> list[OpenProblem]:
    """The household's problems that audit still has open."""
    rows = await session.scalars(
        select(OpenProblem).where(col(OpenProblem.household_id) == household_id).order_by(col(OpenProblem.updated_at))
    )
    return list(rows.all())

"""HTTP routes of the households service: parse, authorize, call the domain, shape the response."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy import select
from sqlmodel import col

from services.households import domain
from services.households.models import Household, VisitProblem
from services.households.schemas import (
    HouseholdCreate,
    HouseholdRead,
    MemberRead,
    OpenProblemRead,
    ProblemRead,
    VisitCreate,
    VisitRead,
)
from shared.auth import Principal, Role, require_roles
from shared.http import Transaction

router = APIRouter(prefix="/households", tags=["households"])

Registrar = Annotated[Principal, Depends(require_roles(Role.DISTRICT_OFFICE, Role.TOWNSHIP_OFFICE, Role.VILLAGE_CADRE))]
Visitor = Annotated[
    Principal,
    Depends(
        require_roles(Role.DISTRICT_OFFICE, Role.TOWNSHIP_OFFICE, Role.VILLAGE_CADRE, Role.HELPER_CADRE, Role.INSPECTOR)
    ),
]
Reader = Annotated[
    Principal,
    Depends(
        require_roles(
            Role.DISTRICT_OFFICE,
            Role.TOWNSHIP_OFFICE,
            Role.VILLAGE_CADRE,
            Role.HELPER_CADRE,
            Role.INSPECTOR,
            Role.AUDITOR,
            Role.DISCIPLINE_COMMISSION,
            Role.SERVICE,
        )
    ),
]


async def _read(session: Transaction, household: Household) -> HouseholdRead:
    members = await domain.members_of(session, household.id)
    return HouseholdRead(**household.model_dump(), members=[MemberRead(**m.model_dump()) for m in members])


@router.post("", status_code=status.HTTP_201_CREATED)
async def register_household(body: HouseholdCreate, session: Transaction, actor: Registrar) -> HouseholdRead:
    """Register a household and its members (建档立卡)."""
    household = await domain.register_household(session, body, actor=actor)
    await session.flush()
    return await _read(session, household)


@router.get("")
async def list_households(
    session: Transaction,
    actor: Reader,
    area_code: Annotated[str | None, Query(pattern=r"^\d{6,12}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[HouseholdRead]:
    """Households in an area (the caller's own area when scoped)."""
    scope = area_code or actor.area or ""
    if actor.is_area_scoped:
        actor.ensure_reach(scope)
    rows = await session.scalars(
        select(Household)
        .where(col(Household.area_code).startswith(scope))
        .order_by(col(Household.household_code))
        .limit(limit)
    )
    return [await _read(session, h) for h in rows.all()]


@router.get("/{household_id}")
async def get_household(household_id: UUID, session: Transaction, actor: Reader) -> HouseholdRead:
    return await _read(session, await domain.get_household(session, household_id, actor=actor))


@router.post("/{household_id}/visits", status_code=status.HTTP_201_CREATED)
async def record_visit(household_id: UUID, body: VisitCreate, session: Transaction, actor: Visitor) -> VisitRead:
    """Record a visit (走访); each problem found goes to audit as an event."""
    household = await domain.get_household(session, household_id, actor=actor)
    visit, problems = await domain.record_visit(session, household, body, actor=actor)
    return VisitRead(**visit.model_dump(), problems=[_problem(p) for p in problems])


@router.get("/{household_id}/open-problems")
async def open_problems(household_id: UUID, session: Transaction, actor: Reader) -> list[OpenProblemRead]:
    """The household's open findings, their rectification deadlines and referrals."""
    await domain.get_household(session, household_id, actor=actor)
    return [OpenProblemRead(**p.model_dump()) for p in await domain.open_problems(session, household_id)]


def _problem(p: VisitProblem) -> ProblemRead:
    return ProblemRead(id=p.id, category=p.category, code=p.code, description=p.description)

"""Routes for helper cadres (帮扶责任人): registration, listing, assignment to households."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from services.households.api.deps import Approver, AreaFilter, Config, Reader, Registrar, household_read
from services.households.domain import cadres
from services.households.domain.access import reachable_household
from services.households.schemas.households import HouseholdRead
from services.households.schemas.monitoring import CadreAssignment, HelperCadreCreate, HelperCadreRead
from shared.http import Transaction

router = APIRouter(tags=["helper cadres"])


@router.post("/helper-cadres", status_code=status.HTTP_201_CREATED)
async def register_cadre(
    body: HelperCadreCreate, session: Transaction, actor: Approver, config: Config
) -> HelperCadreRead:
    """Register a helper cadre for an area (their login is the token subject they will use)."""
    cadre = await cadres.register_cadre(
        session,
        subject=body.subject,
        name=body.name,
        unit=body.unit,
        area_code=body.area_code,
        actor=actor,
        config=config,
    )
    return HelperCadreRead(**cadre.model_dump())


@router.get("/helper-cadres")
async def list_cadres(session: Transaction, actor: Reader, area_code: AreaFilter) -> list[HelperCadreRead]:
    """Helper cadres working within an area (the caller's own area when scoped)."""
    scope = area_code or actor.area or ""
    if actor.is_area_scoped:
        actor.ensure_reach(scope)
    return [HelperCadreRead(**c.model_dump()) for c in await cadres.cadres_in(session, scope)]


@router.put("/households/{household_id}/helper-cadre")
async def assign_cadre(
    household_id: UUID, body: CadreAssignment, session: Transaction, actor: Registrar
) -> HouseholdRead:
    """Assign the household's helper cadre (帮扶责任人)."""
    household = await reachable_household(session, household_id, actor, for_update=True)
    await cadres.assign_cadre(session, household, body.helper_cadre_id, actor=actor.subject)
    return await household_read(session, household)

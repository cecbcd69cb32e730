"""Routes for helper cadres (帮扶责任人): registration, listing, assignment to households."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from services.households.api.deps import Approver, AreaFilter, Config, Reader, Registrar, household_read
from services.households.domain import cadres
from services.households.domain.access import reachable_household
from services.households.schemas.households import HouseholdRead
from services.households.schemas.monitoring import CadreAssignment, HelperCadreCreate, HelperCadreRead
from shared.api.clock import Now
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, text_key, uuid_key
from shared.http import Reading, Transaction

router = APIRouter(tags=["helper cadres"])


@router.post("/helper-cadres", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def register_cadre(
    body: HelperCadreCreate, session: Transaction, actor: Approver, config: Config, now: Now, idem: Idempotency
) -> HelperCadreRead:
    """Register a helper cadre (帮扶责任人) for an area

    `subject` is the login their tokens will carry (409 if already registered); the area is a township or a
    village of the district within the caller's area. Publishes `HelperCadreRegistered`.
    """
    if (earlier := await idem.replay(body, HelperCadreRead)) is not None:
        return earlier
    cadre = await cadres.register_cadre(
        session,
        subject=body.subject,
        name=body.name,
        unit=body.unit,
        area_code=body.area_code,
        actor=actor,
        config=config,
        now=now,
    )
    return idem.remember(HelperCadreRead(**cadre.model_dump()))


@router.get("/helper-cadres")
async def list_cadres(session: Reading, actor: Reader, area_code: AreaFilter, paging: Paging) -> Page[HelperCadreRead]:
    """List the helper cadres working within an area

    The area asked for (default: the caller's own area when scoped, else the district), in name order.
    """
    scope = area_code or actor.area or ""
    if actor.is_area_scoped:
        actor.ensure_reach(scope)
    after = paging.after(text_key, uuid_key)
    rows = await cadres.cadres_in(session, scope, after=after, limit=paging.limit + 1)
    items, next_cursor = paging.page(rows, lambda c: [c.name, str(c.id)])
    return Page(items=[HelperCadreRead(**c.model_dump()) for c in items], next_cursor=next_cursor)


@router.put("/households/{household_id}/helper-cadre")
async def assign_cadre(
    household_id: UUID, body: CadreAssignment, session: Transaction, actor: Registrar, now: Now
) -> HouseholdRead:
    """Assign the household's helper cadre (帮扶责任人)

    The household must lie within the cadre's area (409 otherwise); assigning the same cadre again changes
    nothing. From then on only that cadre, among helper cadres, reaches the household. Publishes
    `HelperCadreAssigned`.
    """
    household = await reachable_household(session, household_id, actor, for_update=True)
    await cadres.assign_cadre(session, household, body.helper_cadre_id, actor=actor.subject, now=now)
    return await household_read(session, household)

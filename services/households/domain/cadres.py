"""Helper cadres (帮扶责任人): registered once, assigned to the households they help."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.domain import history
from services.households.events import publish
from services.households.models import HelperCadre, Household
from services.households.settings import HouseholdsConfig
from shared.auth import Principal
from shared.contracts.households import HelperCadreAssigned, HelperCadreRegistered, HelperCadreUnassigned
from shared.db import keyset
from shared.errors import Conflict, NotFound, RuleViolation


async def register_cadre(
    session: AsyncSession,
    *,
    subject: str,
    name: str,
    unit: str,
    area_code: str,
    actor: Principal,
    config: HouseholdsConfig,
    now: datetime,
) -> HelperCadre:
    """Register a helper cadre working in an area at `now`; `subject` is the login their tokens carry."""
    config.ensure_known_area(area_code)
    actor.ensure_reach(area_code)
    cadre = HelperCadre(subject=subject, name=name, unit=unit, area_code=area_code, registered_at=now)
    session.add(cadre)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("A helper cadre with this login is already registered.") from exc
    publish(session, HelperCadreRegistered(helper_cadre_id=cadre.id, area_code=area_code))
    return cadre


async def cadres_in(
    session: AsyncSession, area_code: str, *, after: tuple[str, UUID] | None, limit: int
) -> list[HelperCadre]:
    """Up to `limit` helper cadres working within `area_code`, in (name, id) order after the cursor key."""
    order = (col(HelperCadre.name), col(HelperCadre.id))
    stmt = select(HelperCadre).where(col(HelperCadre.area_code).startswith(area_code))
    return list((await session.scalars(keyset(stmt, order, after, limit=limit))).all())


async def assign_cadre(
    session: AsyncSession, household: Household, cadre_id: UUID, *, actor: str, now: datetime
) -> HelperCadre:
    """Assign the household's helper cadre; the household must lie within the cadre's area."""
    cadre = await session.get(HelperCadre, cadre_id)
    if cadre is None:
        raise NotFound("No helper cadre has this id.")
    if not household.area_code.startswith(cadre.area_code):
        raise RuleViolation("The household is outside the helper cadre's area.")
    if household.helper_cadre_id == cadre.id:
        return cadre
    before = household.helper_cadre_id
    household.helper_cadre_id = cadre.id
    session.add(household)
    history.note(
        session,
        household.id,
        actor=actor,
        action="helper_cadre.assigned",
        changes={"helper_cadre_id": [before, cadre.id]},
        now=now,
    )
    publish(session, HelperCadreAssigned(household_id=household.id, helper_cadre_id=cadre.id))
    return cadre


async def release_if_moved_away(session: AsyncSession, household: Household, *, actor: str, now: datetime) -> None:
    """A household moved out of its helper cadre's area is no longer theirs to visit (nor any other cadre's while
    the assignment stands): it is unassigned, for the new area's officers to assign."""
    cadre = await session.get(HelperCadre, household.helper_cadre_id) if household.helper_cadre_id else None
    if cadre is None or household.area_code.startswith(cadre.area_code):
        return
    household.helper_cadre_id = None
    session.add(household)
    changes = {"helper_cadre_id": [cadre.id, None]}
    history.note(session, household.id, actor=actor, action="helper_cadre.unassigned", changes=changes, now=now)
    publish(session, HelperCadreUnassigned(household_id=household.id, helper_cadre_id=cadre.id))

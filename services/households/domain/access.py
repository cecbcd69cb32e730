"""Who may reach which household: area scope for officers, assignment for helper cadres (帮扶责任人).

A township officer reaches the villages of their township, a village cadre their village. A helper cadre
reaches, within their area, the households assigned to them, and households not yet assigned to anyone
(so the first visit can be recorded before the assignment is made).
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.models import HelperCadre, Household
from shared.auth import Principal, Role
from shared.errors import Forbidden, NotFound

_HELPER_ONLY = frozenset({Role.HELPER_CADRE})


def is_helper_only(actor: Principal) -> bool:
    """True when the caller acts only as a helper cadre (another role granting the action lifts the assignment
    limit)."""
    return actor.acting_roles <= _HELPER_ONLY


async def can_access(session: AsyncSession, household: Household, actor: Principal) -> bool:
    """Whether the actor's area holds the household and, for a helper cadre, it is theirs or unassigned."""
    if not actor.can_reach(household.area_code):
        return False
    if is_helper_only(actor) and household.helper_cadre_id is not None:
        cadre = await session.get(HelperCadre, household.helper_cadre_id)
        return cadre is not None and cadre.subject == actor.subject
    return True


async def ensure_access(session: AsyncSession, household: Household, actor: Principal) -> None:
    """Forbidden unless the actor may reach the household."""
    actor.ensure_reach(household.area_code)
    if not await can_access(session, household, actor):
        raise Forbidden("This household is assigned to another helper cadre.")


async def reachable_household(
    session: AsyncSession, household_id: UUID, actor: Principal, *, for_update: bool = False
) -> Household:
    """The household, if it exists and the actor may reach it; locked for the transaction when changing it."""
    stmt = select(Household).where(col(Household.id) == household_id)
    if for_update:
        stmt = stmt.with_for_update()
    household = (await session.scalars(stmt)).first()
    if household is None:
        raise NotFound("No household has this id.")
    await ensure_access(session, household, actor)
    return household


def scope_clauses(actor: Principal) -> list[ColumnElement[bool]]:
    """WHERE clauses limiting a household query to what the actor may reach."""
    clauses: list[ColumnElement[bool]] = []
    if actor.is_area_scoped:
        clauses.append(col(Household.area_code).startswith(actor.area or "\0"))
    if is_helper_only(actor):
        mine = select(col(HelperCadre.id)).where(col(HelperCadre.subject) == actor.subject)
        clauses.append(or_(col(Household.helper_cadre_id).is_(None), col(Household.helper_cadre_id).in_(mine)))
    return clauses

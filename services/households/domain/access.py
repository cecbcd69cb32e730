"""Who may reach which household: area scope for officers, assignment for helper cadres (帮扶责任人).

A township officer reaches the villages of their township, a village cadre their village. A helper cadre
reaches, within their area, the households assigned to them, and households not yet assigned to anyone
(so the first visit can be recorded before the assignment is made).
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import ColumnElement, String, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.models import HelperCadre, Household
from shared.auth import Principal, Role
from shared.errors import Forbidden, NotFound

_HELPER_ONLY = frozenset({Role.HELPER_CADRE})
_ASSIGNED_ELSEWHERE = "This household is assigned to another helper cadre."
NO_HOUSEHOLD = "No household has this id."


def is_helper_only(actor: Principal) -> bool:
    """True when the caller acts only as a helper cadre (another role granting the action lifts the assignment
    limit)."""
    return actor.acting_roles <= _HELPER_ONLY


async def can_access(session: AsyncSession, household: Household, actor: Principal) -> bool:
    """Whether the actor's area holds the household and, for a helper cadre, it is theirs or unassigned."""
    try:
        await ensure_access(session, household, actor)
    except Forbidden:
        return False
    return True


async def ensure_access(session: AsyncSession, household: Household, actor: Principal) -> None:
    """Forbidden unless the actor may reach the household."""
    actor.ensure_reach(household.area_code)
    subject: str | None = None
    if is_helper_only(actor) and household.helper_cadre_id is not None:
        cadre = await session.get(HelperCadre, household.helper_cadre_id)
        subject = cadre.subject if cadre is not None else None
    ensure_reach_of(actor, household.area_code, household.helper_cadre_id is not None, subject)


def ensure_reach_of(actor: Principal, area_code: str, assigned: bool, cadre_subject: str | None) -> None:
    """Forbidden unless the actor's area holds the household and, for a helper cadre, it is theirs (their login is
    `cadre_subject`) or unassigned: what `ensure_access` checks, for a household read as columns."""
    actor.ensure_reach(area_code)
    if is_helper_only(actor) and assigned and cadre_subject != actor.subject:
        raise Forbidden(_ASSIGNED_ELSEWHERE)


async def reachable_household(
    session: AsyncSession, household_id: UUID, actor: Principal, *, for_update: bool = False
) -> Household:
    """The household, if it exists and the actor may reach it; locked for the transaction when changing it."""
    stmt = _HOUSEHOLD_LOCKED if for_update else _HOUSEHOLD
    household = (await session.scalars(stmt, {"household_id": household_id})).first()
    if household is None:
        raise NotFound(NO_HOUSEHOLD)
    await ensure_access(session, household, actor)
    return household


# Built once: a statement built per call is keyed for SQLAlchemy's cache on every call (every write to a household).
_HOUSEHOLD = select(Household).where(col(Household.id) == bindparam("household_id"))
_HOUSEHOLD_LOCKED = _HOUSEHOLD.with_for_update()


def scope_clauses(actor: Principal) -> list[ColumnElement[bool]]:
    """WHERE clauses limiting a household query to what the actor may reach. The actor's area and login are named
    parameters (`scope_parameters`), so a statement built for one actor serves another of the same kind."""
    values = scope_parameters(actor)
    clauses: list[ColumnElement[bool]] = []
    if actor.is_area_scoped:
        area = bindparam("scope_area", values["scope_area"], type_=String())
        clauses.append(col(Household.area_code).startswith(area))
    if is_helper_only(actor):
        login = bindparam("scope_subject", values["scope_subject"], type_=String())
        mine = select(col(HelperCadre.id)).where(col(HelperCadre.subject) == login)
        clauses.append(or_(col(Household.helper_cadre_id).is_(None), col(Household.helper_cadre_id).in_(mine)))
    return clauses


def scope_parameters(actor: Principal) -> dict[str, str]:
    """The values of `scope_clauses`' parameters for `actor`."""
    return {"scope_area": actor.area or "\0", "scope_subject": actor.subject}

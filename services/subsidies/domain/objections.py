"""Objections to a cycle's public notice (公示异议): raised within the window, decided upheld or dismissed.

An objection upheld against a listed entitlement withdraws it. One upheld for a household left out cannot add
it by hand: the household's facts are fixed at their source and the list is computed again, and submission
waits for that (see `services.subsidies.rules.cycles.ensure_objections_settled`).
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.subsidies.domain import entitlement_lists as lists
from services.subsidies.domain.cycles import cycle_of
from services.subsidies.models import CycleEntitlement, HouseholdFacts, Objection
from services.subsidies.rules.cycles import CycleStep, check_objection_day, ensure_step, upheld_reason
from services.subsidies.rules.vocabulary import EntitlementStatus, ObjectionDecision
from services.subsidies.schemas.cycles import ObjectionCreate, ObjectionDecisionCreate
from shared.auth import Principal
from shared.db import keyset
from shared.errors import Conflict, InvalidInput, NotFound


async def raise_objection(
    session: AsyncSession, cycle_id: UUID, data: ObjectionCreate, *, actor: Principal, today: date, now: datetime
) -> Objection:
    """Record an objection raised within the cycle's notice window, about a household within the actor's reach."""
    cycle = await cycle_of(session, cycle_id, for_update=True)
    ensure_step(cycle.status, CycleStep.RAISE_OBJECTION)
    assert cycle.notice_starts_on is not None and cycle.notice_ends_on is not None  # set whenever on notice
    check_objection_day(data.raised_on, starts_on=cycle.notice_starts_on, ends_on=cycle.notice_ends_on, today=today)
    household = await session.get(HouseholdFacts, data.household_id)
    if household is None:
        raise _invalid("body.household_id", "not a household registered with subsidies", "unknown_household")
    actor.ensure_reach(household.area_code)
    if data.entitlement_id is not None:
        await _objected_entitlement(session, cycle_id, data)
    objection = Objection(
        cycle_id=cycle_id,
        household_id=data.household_id,
        entitlement_id=data.entitlement_id,
        grounds=data.grounds,
        raised_on=data.raised_on,
        recorded_by=actor.subject,
        recorded_at=now,
    )
    session.add(objection)
    await session.flush()
    return objection


async def _objected_entitlement(session: AsyncSession, cycle_id: UUID, data: ObjectionCreate) -> None:
    entitlement = await session.get(CycleEntitlement, data.entitlement_id)
    if entitlement is None or (entitlement.cycle_id, entitlement.household_id) != (cycle_id, data.household_id):
        raise _invalid("body.entitlement_id", "not an entitlement of this household in this cycle", "not_listed")
    if entitlement.status != EntitlementStatus.LISTED:
        raise _invalid("body.entitlement_id", "already withdrawn from the list", "not_listed")


async def decide_objection(
    session: AsyncSession,
    cycle_id: UUID,
    objection_id: UUID,
    data: ObjectionDecisionCreate,
    *,
    actor: Principal,
    now: datetime,
) -> Objection:
    """Decide an objection once; upheld against a listed entitlement, the entitlement is withdrawn."""
    cycle = await cycle_of(session, cycle_id, for_update=True)
    ensure_step(cycle.status, CycleStep.DECIDE_OBJECTION)
    objection = await objection_of(session, cycle_id, objection_id)
    if objection.decision is not None:
        raise Conflict("This objection is already decided.", code="objection_decided")
    objection.decision, objection.decision_note = data.decision, data.note
    objection.decided_by, objection.decided_at = actor.subject, now
    if data.decision == ObjectionDecision.UPHELD and objection.entitlement_id is not None:
        await lists.withdraw(session, [(objection.entitlement_id, upheld_reason(objection.id))])
        cycle.entitled_count, cycle.total_fen = await lists.listed_totals(session, cycle.id)
    return objection


async def objection_of(session: AsyncSession, cycle_id: UUID, objection_id: UUID) -> Objection:
    objection = await session.get(Objection, objection_id)
    if objection is None or objection.cycle_id != cycle_id:
        raise NotFound("This cycle has no objection with this id.")
    return objection


async def list_objections(
    session: AsyncSession,
    cycle_id: UUID,
    *,
    actor: Principal,
    decided: bool | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[Objection]:
    """A cycle's objections, the latest recorded first; an area-scoped reader's only those of households within
    their area."""
    await cycle_of(session, cycle_id)
    stmt = select(Objection).where(col(Objection.cycle_id) == cycle_id)
    if decided is not None:
        stmt = stmt.where(col(Objection.decision).is_not(None) if decided else col(Objection.decision).is_(None))
    if actor.is_area_scoped:
        within = select(col(HouseholdFacts.household_id)).where(
            col(HouseholdFacts.area_code).startswith(actor.area or "")
        )
        stmt = stmt.where(col(Objection.household_id).in_(within))
    stmt = keyset(stmt, (col(Objection.recorded_at), col(Objection.id)), after, limit=limit, descending=True)
    return list((await session.scalars(stmt)).all())


def _invalid(field: str, message: str, code: str) -> InvalidInput:
    return InvalidInput("The objection is not valid.", errors=[{"field": field, "message": message, "code": code}])

"""Routes for households: register, read, list with filters, change, search by ID number, history, status."""

from __future__ import annotations

import json
import logging
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, status

from services.households import history, lifecycle, registry
from services.households.access import reachable_household
from services.households.api.deps import (
    Approver,
    AreaFilter,
    Config,
    Reader,
    Registrar,
    Revealer,
    household_read,
    household_reads,
)
from services.households.assessment import assess
from services.households.pagination import int_key, page_of, parse_cursor, text_key
from services.households.schemas.common import Limit, Page, Year
from services.households.schemas.households import (
    AssessmentRead,
    ChangeRead,
    GapRead,
    HouseholdCreate,
    HouseholdRead,
    HouseholdUpdate,
    IdNumberSearch,
    StatusChange,
)
from shared.contracts.households import HouseholdStatus, MinimumAllowance, RiskKind
from shared.http import Transaction
from shared.timeutil import district_today

log = logging.getLogger(__name__)
router = APIRouter(prefix="/households", tags=["households"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def register_household(
    body: HouseholdCreate, session: Transaction, actor: Registrar, config: Config
) -> HouseholdRead:
    """Register a household and its members (建档立卡); ID-card numbers are stored sealed and shown masked."""
    values = [
        {**m.model_dump(), "id_number": m.id_number.get_secret_value() if m.id_number else None} for m in body.members
    ]
    household = await registry.register_household(
        session,
        code=body.household_code,
        area_code=body.area_code,
        head_name=body.head_name,
        member_values=values,
        actor=actor,
        config=config,
        on=district_today(),
    )
    return await household_read(session, household)


@router.get("")
async def list_households(
    session: Transaction,
    actor: Reader,
    area_code: AreaFilter,
    status: HouseholdStatus | None = None,
    under_monitoring: bool | None = None,
    risk_flag: RiskKind | None = None,
    minimum_allowance: MinimumAllowance | None = None,
    policy: Literal["disability", "chronic_disease", "student", "premium_subsidised"] | None = None,
    gap: Literal["housing", "water", "schooling", "medical"] | None = None,
    cursor: str | None = None,
    limit: Annotated[Limit, Query()] = 100,
) -> Page[HouseholdRead]:
    """Households within the caller's reach, in household-code order, filtered; pass `next_cursor` on."""
    after = parse_cursor(cursor, text_key)[0] if cursor else None
    filters = registry.HouseholdFilter(
        area_code=area_code,
        status=status,
        under_monitoring=under_monitoring,
        risk_flag=risk_flag,
        minimum_allowance=minimum_allowance,
        policy=policy,
        gap=gap,
    )
    rows = await registry.list_households(
        session, filters, actor=actor, after_code=after, limit=limit + 1, today=district_today()
    )
    items, next_cursor = page_of(rows, limit, lambda h: [h.household_code])
    return Page(items=await household_reads(session, items), next_cursor=next_cursor)


@router.post("/search")
async def search_by_id_number(
    body: IdNumberSearch, session: Transaction, actor: Revealer, config: Config
) -> list[HouseholdRead]:
    """The household holding an ID-card number (sent in the body, never in the URL), if within reach.

    For those who may see full numbers only: a hit confirms a guessed number, and the masked form with the birth
    date leaves few to guess. Each search is logged with who asked and whether it found anyone (never the number).
    """
    found = await registry.search_by_id_number(session, body.id_number.get_secret_value(), actor=actor, config=config)
    log.info("ID-card number search", extra={"actor": actor.subject, "found": len(found)})
    return await household_reads(session, found)


@router.get("/{household_id}")
async def get_household(household_id: UUID, session: Transaction, actor: Reader) -> HouseholdRead:
    return await household_read(session, await reachable_household(session, household_id, actor))


@router.patch("/{household_id}")
async def update_household(
    household_id: UUID, body: HouseholdUpdate, session: Transaction, actor: Registrar, config: Config
) -> HouseholdRead:
    """Change the head's name or move the household to another village."""
    household = await reachable_household(session, household_id, actor, for_update=True)
    await registry.update_household(session, household, body.model_dump(exclude_unset=True), actor=actor, config=config)
    return await household_read(session, household)


@router.post("/{household_id}/status")
async def change_status(household_id: UUID, body: StatusChange, session: Transaction, actor: Approver) -> HouseholdRead:
    """Move the household through the lifecycle (脱贫 / 返贫); refused with the gaps when the rules say no."""
    household = await reachable_household(session, household_id, actor, for_update=True)
    await lifecycle.officer_decision(
        session, household, body.status, actor=actor.subject, on=body.effective_on or district_today(), note=body.reason
    )
    return await household_read(session, household)


@router.get("/{household_id}/assessment")
async def assessment(
    household_id: UUID, session: Transaction, actor: Reader, year: Annotated[Year | None, Query()] = None
) -> AssessmentRead:
    """The household against the exit standard for a year: per-capita income, line and every gap."""
    household = await reachable_household(session, household_id, actor)
    today = district_today()
    result = await assess(session, household, year=year or today.year, on=today)
    return AssessmentRead(
        year=result.year,
        member_count=result.member_count,
        per_capita_income_fen=result.per_capita_income_fen,
        line_fen=result.line.line_fen if result.line else None,
        monitoring_margin_fen=result.line.margin_fen if result.line else None,
        gaps=[GapRead(code=g.code, category=g.category, member_id=g.member_id) for g in result.gaps],
        can_exit=not result.gaps,
    )


@router.get("/{household_id}/history")
async def household_history(
    household_id: UUID,
    session: Transaction,
    actor: Reader,
    cursor: str | None = None,
    limit: Annotated[Limit, Query()] = 100,
) -> Page[ChangeRead]:
    """Every change to the household, oldest first (ID numbers masked)."""
    household = await reachable_household(session, household_id, actor)
    after = parse_cursor(cursor, int_key)[0] if cursor else 0
    rows = await history.page(session, household.id, after_id=after, limit=limit + 1)
    items, next_cursor = page_of(rows, limit, lambda c: [c.id])
    return Page(
        items=[ChangeRead(**c.model_dump(exclude={"changes"}), changes=json.loads(c.changes)) for c in items],
        next_cursor=next_cursor,
    )

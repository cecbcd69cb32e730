"""Routes for households: register, read, list with filters, change, search by ID number, history, status."""

from __future__ import annotations

import json
import logging
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, status

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
from services.households.domain import history, lifecycle, register
from services.households.domain.access import reachable_household
from services.households.domain.assessment import assess
from services.households.schemas.common import Year
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
from shared.api.clock import Today
from shared.api.pagination import Page, Paging, int_key, text_key
from shared.contracts.households import HouseholdStatus, MinimumAllowance, RiskKind
from shared.http import Transaction

log = logging.getLogger(__name__)
router = APIRouter(prefix="/households", tags=["households"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def register_household(
    body: HouseholdCreate, session: Transaction, actor: Registrar, config: Config, today: Today
) -> HouseholdRead:
    """Register a household and its members (建档立卡); ID-card numbers are stored sealed and shown masked."""
    values = [
        {**m.model_dump(), "id_number": m.id_number.get_secret_value() if m.id_number else None} for m in body.members
    ]
    household = await register.register_household(
        session,
        code=body.household_code,
        area_code=body.area_code,
        head_name=body.head_name,
        member_values=values,
        actor=actor,
        config=config,
        today=today,
    )
    return await household_read(session, household)


@router.get("")
async def list_households(
    session: Transaction,
    actor: Reader,
    today: Today,
    paging: Paging,
    area_code: AreaFilter,
    status: HouseholdStatus | None = None,
    under_monitoring: bool | None = None,
    risk_flag: RiskKind | None = None,
    minimum_allowance: MinimumAllowance | None = None,
    policy: Literal["disability", "chronic_disease", "student", "premium_subsidised"] | None = None,
    gap: Literal["housing", "water", "schooling", "medical"] | None = None,
) -> Page[HouseholdRead]:
    """Households within the caller's reach, in household-code order, filtered; pass `next_cursor` on."""
    after = paging.after(text_key)
    filters = register.HouseholdFilter(
        area_code=area_code,
        status=status,
        under_monitoring=under_monitoring,
        risk_flag=risk_flag,
        minimum_allowance=minimum_allowance,
        policy=policy,
        gap=gap,
    )
    after_code = after[0] if after else None
    rows = await register.list_households(
        session, filters, actor=actor, after_code=after_code, limit=paging.limit + 1, today=today
    )
    items, next_cursor = paging.page(rows, lambda h: [h.household_code])
    return Page(items=await household_reads(session, items), next_cursor=next_cursor)


@router.post("/search")
async def search_by_id_number(
    body: IdNumberSearch, session: Transaction, actor: Revealer, config: Config, today: Today
) -> list[HouseholdRead]:
    """The household holding an ID-card number (sent in the body, never in the URL), if within reach.

    For those who may see full numbers only: a hit confirms a guessed number, and the masked form with the birth
    date leaves few to guess. Each search is logged with who asked and whether it found anyone (never the number).
    """
    number = body.id_number.get_secret_value()
    found = await register.search_by_id_number(session, number, actor=actor, config=config, today=today)
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
    await register.update_household(session, household, body.model_dump(exclude_unset=True), actor=actor, config=config)
    return await household_read(session, household)


@router.post("/{household_id}/status")
async def change_status(
    household_id: UUID, body: StatusChange, session: Transaction, actor: Approver, today: Today
) -> HouseholdRead:
    """Move the household through the lifecycle (脱贫 / 返贫); refused with the gaps when the rules say no."""
    household = await reachable_household(session, household_id, actor, for_update=True)
    on = body.effective_on or today
    await lifecycle.officer_decision(
        session, household, body.status, actor=actor.subject, on=on, today=today, note=body.reason
    )
    return await household_read(session, household)


@router.get("/{household_id}/assessment")
async def assessment(
    household_id: UUID,
    session: Transaction,
    actor: Reader,
    today: Today,
    year: Annotated[Year | None, Query()] = None,
) -> AssessmentRead:
    """The household against the exit standard for a year: per-capita income, line and every gap."""
    household = await reachable_household(session, household_id, actor)
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
    paging: Paging,
) -> Page[ChangeRead]:
    """Every change to the household, oldest first (ID numbers masked)."""
    household = await reachable_household(session, household_id, actor)
    after = paging.after(int_key)
    rows = await history.page(session, household.id, after_id=after[0] if after else 0, limit=paging.limit + 1)
    items, next_cursor = paging.page(rows, lambda c: [c.id])
    return Page(
        items=[ChangeRead(**c.model_dump(exclude={"changes"}), changes=json.loads(c.changes)) for c in items],
        next_cursor=next_cursor,
    )

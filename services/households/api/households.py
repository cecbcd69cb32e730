"""Routes for households: register, read, list with filters, change, search by ID number, history, status."""

from __future__ import annotations

import json
import logging
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from services.households.api.deps import (
    HOUSEHOLD_JSON,
    HOUSEHOLD_PAGE_JSON,
    HOUSEHOLD_REACH,
    HOUSEHOLD_SOURCES,
    MEMBER_SOURCES,
    Approver,
    AreaFilter,
    Config,
    Reader,
    Registrar,
    Revealer,
    household_body,
    household_read,
    json_response,
    numbered,
)
from services.households.domain import history, lifecycle, reads, register
from services.households.domain.access import NO_HOUSEHOLD, ensure_reach_of, reachable_household
from services.households.domain.assessment import assess
from services.households.schemas.common import Year
from services.households.schemas.households import (
    AssessmentRead,
    ChangeRead,
    GapRead,
    HouseholdCreate,
    HouseholdRead,
    HouseholdUpdate,
    IdNumberMatch,
    IdNumberSearch,
    StatusChange,
)
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, int_key, text_key
from shared.contracts.households import HouseholdStatus, MinimumAllowance, RiskKind
from shared.errors import NotFound
from shared.http import Reading, Transaction

log = logging.getLogger(__name__)
router = APIRouter(prefix="/households", tags=["households"])


@router.post("", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def register_household(
    body: HouseholdCreate,
    session: Transaction,
    actor: Registrar,
    config: Config,
    now: Now,
    today: Today,
    idem: Idempotency,
) -> HouseholdRead:
    """Register a household and its members (建档立卡)

    The household enters the register `in_poverty` in a village of the district. ID-card numbers are stored
    sealed and shown masked; a number must carry the member's birth date and be new to the register (409
    otherwise, without repeating it), as must the household code. Publishes `HouseholdRegistered`, a
    `MemberAdded` per member and the events their facts imply (disability, schooling, medical cover).
    """
    request = numbered(body, [m.id_number for m in body.members], config)
    if (earlier := await idem.replay(request, HouseholdRead)) is not None:
        return earlier
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
        now=now,
        today=today,
    )
    return idem.remember(await household_read(session, household))


@router.get("", openapi_extra=HOUSEHOLD_REACH, response_model=Page[HouseholdRead])
async def list_households(
    session: Reading,
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
) -> Response:
    """List registered households (建档立卡户), filtered

    In household-code order. Filters: an area (a township or village of the district), the lifecycle status,
    an open monitoring episode, an open relapse-risk flag of a kind, the 低保 status, a policy a member enjoys
    (disability, approved chronic disease, enrolled student, subsidised premium), or a gap against the exit
    standard (housing not A/B, water unsafe or unchecked, a school-age child out of school, a member uninsured).
    """
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
    found = await register.list_households(
        session,
        filters,
        HOUSEHOLD_SOURCES,
        MEMBER_SOURCES,
        actor=actor,
        after_code=after_code,
        limit=paging.limit + 1,
        today=today,
    )
    bodies = [household_body(h.household, h.members) for h in found]
    items, next_cursor = paging.page(bodies, lambda h: [h.household_code])
    return json_response(HOUSEHOLD_PAGE_JSON, Page[HouseholdRead](items=items, next_cursor=next_cursor))


@router.post("/search", openapi_extra=HOUSEHOLD_REACH)
async def search_by_id_number(
    body: IdNumberSearch, session: Transaction, actor: Revealer, config: Config, today: Today
) -> IdNumberMatch:
    """Find the household of an ID-card number (身份证号查询)

    The number is sent in the body, never in the URL. The answer is the household holding it if it is within
    reach, otherwise `null` (the same answer as for a number nobody holds). For those who may see full numbers
    only: a hit confirms a guessed number, and the masked form with the birth date leaves few to guess. Each
    search is logged with who asked and whether it found anyone (never the number).
    """
    number = body.id_number.get_secret_value()
    found = await register.search_by_id_number(session, number, actor=actor, config=config, today=today)
    log.info("ID-card number search", extra={"actor": actor.subject, "found": int(found is not None)})
    return IdNumberMatch(household=await household_read(session, found) if found else None)


@router.get("/{household_id}", openapi_extra=HOUSEHOLD_REACH, response_model=HouseholdRead)
async def get_household(household_id: UUID, session: Reading, actor: Reader) -> Response:
    """Read a household and its members

    Its lifecycle status, helper cadre, 低保 status, latest housing grade and water safety; members with their
    facts, ID-card numbers masked.
    """
    found = await reads.household_with_members(session, household_id, HOUSEHOLD_SOURCES, MEMBER_SOURCES)
    if found is None:
        raise NotFound(NO_HOUSEHOLD)
    body = household_body(found.household, found.members)
    ensure_reach_of(actor, body.area_code, body.helper_cadre_id is not None, found.cadre_subject)
    return json_response(HOUSEHOLD_JSON, body)


@router.patch("/{household_id}")
async def update_household(
    household_id: UUID, body: HouseholdUpdate, session: Transaction, actor: Registrar, config: Config, now: Now
) -> HouseholdRead:
    """Change the head's name or move the household to another village

    Both the old and the new village must be within the caller's area. A household moved out of its helper
    cadre's area is unassigned (`HelperCadreUnassigned`). Publishes `HouseholdUpdated` naming the fields changed.
    """
    household = await reachable_household(session, household_id, actor, for_update=True)
    changes = body.model_dump(exclude_unset=True)
    await register.update_household(session, household, changes, actor=actor, config=config, now=now)
    return await household_read(session, household)


@router.post("/{household_id}/status")
async def change_status(
    household_id: UUID, body: StatusChange, session: Transaction, actor: Approver, now: Now, today: Today
) -> HouseholdRead:
    """Decide the household's status (脱贫 / 返贫)

    Moves it through the lifecycle on `effective_on` (default today, within this year, not before its last
    change), judged on today's facts: an exit without the exit standard met is refused with 409 listing the
    `gaps`, a relapse needs a gap, and a household with an open monitoring episode changes only by closing it
    (`monitored` comes from monitoring alone). Publishes `HouseholdStatusChanged`.
    """
    household = await reachable_household(session, household_id, actor, for_update=True)
    on = body.effective_on or today
    await lifecycle.officer_decision(
        session, household, body.status, actor=actor.subject, on=on, now=now, today=today, note=body.reason
    )
    return await household_read(session, household)


@router.get("/{household_id}/assessment", openapi_extra=HOUSEHOLD_REACH)
async def assessment(
    household_id: UUID,
    session: Reading,
    actor: Reader,
    today: Today,
    year: Annotated[Year | None, Query()] = None,
) -> AssessmentRead:
    """Assess the household against the exit standard (两不愁三保障)

    For a year (default this year): per-capita income against the year's line, and every gap in schooling,
    medical cover, housing and water; `can_exit` when there is none.
    """
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


@router.get("/{household_id}/history", openapi_extra=HOUSEHOLD_REACH)
async def household_history(
    household_id: UUID,
    session: Reading,
    actor: Reader,
    paging: Paging,
) -> Page[ChangeRead]:
    """List the household's change history (变更记录)

    Every change, oldest first: who, which action, and each field's old and new value (ID-card numbers masked).
    """
    household = await reachable_household(session, household_id, actor)
    after = paging.after(int_key)
    rows = await history.page(session, household.id, after_id=after[0] if after else 0, limit=paging.limit + 1)
    items, next_cursor = paging.page(rows, lambda c: [c.id])
    return Page(
        items=[ChangeRead(**c.model_dump(exclude={"changes"}), changes=json.loads(c.changes)) for c in items],
        next_cursor=next_cursor,
    )

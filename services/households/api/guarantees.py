"""Routes for housing safety (appraisals, renovation) and drinking water (checks)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from services.households.api.deps import HOUSEHOLD_REACH, Config, Reader, Registrar
from services.households.domain import housing, water
from services.households.domain.access import reachable_household
from services.households.models import WaterCheck
from services.households.rules.housing import AppraisalFacts
from services.households.rules.vocabulary import AppraisalSource
from services.households.schemas.guarantees import (
    AppraisalCreate,
    AppraisalRead,
    RenovationCreate,
    WaterCheckCreate,
    WaterCheckRead,
)
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, date_key, datetime_key, uuid_key
from shared.http import Reading, Transaction

router = APIRouter(prefix="/households/{household_id}", tags=["guarantees"])


def _water_read(check: WaterCheck) -> WaterCheckRead:
    problems = check.problems.split(",") if check.problems else []
    return WaterCheckRead(**check.model_dump(exclude={"problems"}), problems=problems)


@router.post("/housing-appraisals", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def record_appraisal(
    household_id: UUID,
    body: AppraisalCreate,
    session: Transaction,
    actor: Registrar,
    config: Config,
    now: Now,
    today: Today,
    idem: Idempotency,
) -> AppraisalRead:
    """Record a housing-safety appraisal (住房安全鉴定)

    The latest appraisal grades the house. A C/D house gets a renovation deadline (the one given, or the
    district's default after the appraisal) and is published as a `housing_unsafe` problem for audit; an
    appraisal older than the household's latest is kept as history only. The same appraisal (day and grade)
    again changes nothing. Publishes `HousingAppraised`.
    """
    household = await reachable_household(session, household_id, actor, for_update=True)
    if (earlier := await idem.replay(body, AppraisalRead)) is not None:
        return earlier
    appraisal = await housing.record_appraisal(
        session,
        household,
        AppraisalFacts(body.grade, body.appraised_on, body.appraiser, body.renovation_due),
        source=AppraisalSource.OFFICER,
        actor=actor.subject,
        default_days=config.renovation_days,
        now=now,
        today=today,
    )
    return idem.remember(AppraisalRead(**appraisal.model_dump()))


@router.get("/housing-appraisals", openapi_extra=HOUSEHOLD_REACH)
async def list_appraisals(household_id: UUID, session: Reading, actor: Reader, paging: Paging) -> Page[AppraisalRead]:
    """List the household's housing appraisals

    Oldest first: officers', departments', visitors' and renovation acceptances (`source`), with C/D deadlines
    and when the house was renovated.
    """
    household = await reachable_household(session, household_id, actor)
    after = paging.after(date_key, datetime_key, uuid_key)
    rows = await housing.appraisals_of(session, household, after=after, limit=paging.limit + 1)
    items, next_cursor = paging.page(rows, lambda a: [a.appraised_on.isoformat(), a.recorded_at.isoformat(), str(a.id)])
    return Page(items=[AppraisalRead(**a.model_dump()) for a in items], next_cursor=next_cursor)


@router.post(
    "/housing-appraisals/{appraisal_id}/renovation", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE
)
async def record_renovation(
    household_id: UUID,
    appraisal_id: UUID,
    body: RenovationCreate,
    session: Transaction,
    actor: Registrar,
    now: Now,
    today: Today,
    idem: Idempotency,
) -> AppraisalRead:
    """Accept a C/D house's renovation (危房改造验收)

    Marks the appraisal renovated and records the new A/B appraisal that re-grades the house, which is returned.
    Refused (409) for an A/B house or one already renovated. Publishes `HousingRenovated`.
    """
    household = await reachable_household(session, household_id, actor, for_update=True)
    if (earlier := await idem.replay(body, AppraisalRead)) is not None:
        return earlier
    regraded = await housing.record_renovation(
        session,
        household,
        appraisal_id,
        completed_on=body.completed_on,
        new_grade=body.grade,
        appraiser=body.appraiser,
        actor=actor.subject,
        now=now,
        today=today,
    )
    return idem.remember(AppraisalRead(**regraded.model_dump()))


@router.post("/water-checks", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def record_water_check(
    household_id: UUID,
    body: WaterCheckCreate,
    session: Transaction,
    actor: Registrar,
    now: Now,
    today: Today,
    idem: Idempotency,
) -> WaterCheckRead:
    """Record a drinking-water check (安全饮水)

    A check with problems (excess fluoride, bacteria, turbidity, shortage, distance) makes the water unsafe
    and is published as an `unsafe_water` problem for audit; the latest check decides whether the household's
    water is safe. The same check (day and problems) again changes nothing. Publishes `WaterChecked`.
    """
    household = await reachable_household(session, household_id, actor, for_update=True)
    if (earlier := await idem.replay(body, WaterCheckRead)) is not None:
        return earlier
    check = await water.record_water_check(
        session,
        household,
        checked_on=body.checked_on,
        source=body.source,
        problems=body.problems,
        checked_by=body.checked_by,
        actor=actor.subject,
        now=now,
        today=today,
    )
    return idem.remember(_water_read(check))


@router.get("/water-checks", openapi_extra=HOUSEHOLD_REACH)
async def list_water_checks(
    household_id: UUID, session: Reading, actor: Reader, paging: Paging
) -> Page[WaterCheckRead]:
    """List the household's drinking-water checks

    Oldest first, with their source, problems and whether the water was safe.
    """
    household = await reachable_household(session, household_id, actor)
    after = paging.after(date_key, datetime_key, uuid_key)
    rows = await water.checks_of(session, household, after=after, limit=paging.limit + 1)
    items, next_cursor = paging.page(rows, lambda c: [c.checked_on.isoformat(), c.recorded_at.isoformat(), str(c.id)])
    return Page(items=[_water_read(c) for c in items], next_cursor=next_cursor)

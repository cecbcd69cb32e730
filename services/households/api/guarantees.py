"""Routes for housing safety (appraisals, renovation) and drinking water (checks)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from services.households.api.deps import Config, Reader, Registrar
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
from shared.api.clock import Today
from shared.http import Transaction

router = APIRouter(prefix="/households/{household_id}", tags=["guarantees"])


def _water_read(check: WaterCheck) -> WaterCheckRead:
    problems = check.problems.split(",") if check.problems else []
    return WaterCheckRead(**check.model_dump(exclude={"problems"}), problems=problems)


@router.post("/housing-appraisals", status_code=status.HTTP_201_CREATED)
async def record_appraisal(
    household_id: UUID, body: AppraisalCreate, session: Transaction, actor: Registrar, config: Config, today: Today
) -> AppraisalRead:
    """Record a housing-safety appraisal (住房安全鉴定); C/D is published as a problem with a deadline."""
    household = await reachable_household(session, household_id, actor, for_update=True)
    appraisal = await housing.record_appraisal(
        session,
        household,
        AppraisalFacts(body.grade, body.appraised_on, body.appraiser, body.renovation_due),
        source=AppraisalSource.OFFICER,
        actor=actor.subject,
        default_days=config.renovation_days,
        today=today,
    )
    return AppraisalRead(**appraisal.model_dump())


@router.get("/housing-appraisals")
async def list_appraisals(household_id: UUID, session: Transaction, actor: Reader) -> list[AppraisalRead]:
    household = await reachable_household(session, household_id, actor)
    return [AppraisalRead(**a.model_dump()) for a in await housing.appraisals_of(session, household)]


@router.post("/housing-appraisals/{appraisal_id}/renovation", status_code=status.HTTP_201_CREATED)
async def record_renovation(
    household_id: UUID,
    appraisal_id: UUID,
    body: RenovationCreate,
    session: Transaction,
    actor: Registrar,
    today: Today,
) -> AppraisalRead:
    """Accept a C/D house's renovation (危房改造); returns the new appraisal that re-grades it."""
    household = await reachable_household(session, household_id, actor, for_update=True)
    regraded = await housing.record_renovation(
        session,
        household,
        appraisal_id,
        completed_on=body.completed_on,
        new_grade=body.grade,
        appraiser=body.appraiser,
        actor=actor.subject,
        today=today,
    )
    return AppraisalRead(**regraded.model_dump())


@router.post("/water-checks", status_code=status.HTTP_201_CREATED)
async def record_water_check(
    household_id: UUID, body: WaterCheckCreate, session: Transaction, actor: Registrar, today: Today
) -> WaterCheckRead:
    """Record a drinking-water check (安全饮水); problems such as excess fluoride make it unsafe."""
    household = await reachable_household(session, household_id, actor, for_update=True)
    check = await water.record_water_check(
        session,
        household,
        checked_on=body.checked_on,
        source=body.source,
        problems=body.problems,
        checked_by=body.checked_by,
        actor=actor.subject,
        today=today,
    )
    return _water_read(check)


@router.get("/water-checks")
async def list_water_checks(household_id: UUID, session: Transaction, actor: Reader) -> list[WaterCheckRead]:
    household = await reachable_household(session, household_id, actor)
    return [_water_read(c) for c in await water.checks_of(session, household)]

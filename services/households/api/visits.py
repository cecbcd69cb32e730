"""Routes for visits (走访), and audit's findings about the household that are still open."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from services.households.api.deps import HOUSEHOLD_REACH, REGISTRARS, Config, Reader, Visitor
from services.households.domain import visits
from services.households.domain.access import reachable_household
from services.households.domain.problems import open_findings
from services.households.models import Visit, VisitProblem
from services.households.rules.visits import ProblemNoted
from services.households.rules.vocabulary import SAFE_GRADES
from services.households.schemas.visits import OpenFindingRead, ProblemRead, VisitCreate, VisitRead
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, date_key, datetime_key, int_key, uuid_key
from shared.errors import Forbidden
from shared.http import Reading, Transaction

router = APIRouter(prefix="/households/{household_id}", tags=["visits"])


def _visit_read(visit: Visit, problems: list[VisitProblem]) -> VisitRead:
    return VisitRead(
        **visit.model_dump(),
        problems=[ProblemRead(id=p.id, category=p.category, code=p.code, description=p.description) for p in problems],
    )


@router.post("/visits", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE, openapi_extra=HOUSEHOLD_REACH)
async def record_visit(
    household_id: UUID,
    body: VisitCreate,
    session: Transaction,
    actor: Visitor,
    config: Config,
    now: Now,
    today: Today,
    idem: Idempotency,
) -> VisitRead:
    """Record a household visit (走访调研)

    Records the visit in its inspection round. Publishes `VisitRecorded`, and each problem found (those
    reported, and a C/D house) as a `HouseholdProblemFound` that audit turns into a finding. A housing grade given
    is recorded as an appraisal (source `visit`) that re-grades the house; a safe grade (A/B) only from a
    district, township or village officer (others: 403), since it accepts an unsafe house as safe.
    """
    if body.housing_grade in SAFE_GRADES and not actor.has_any(REGISTRARS):
        raise Forbidden("Only a district, township or village officer records a safe housing grade (A or B).")
    household = await reachable_household(session, household_id, actor, for_update=True)
    if (earlier := await idem.replay(body, VisitRead)) is not None:
        return earlier
    noted = [ProblemNoted(p.category, p.code, p.description) for p in body.problems]
    visit, problems = await visits.record_visit(
        session,
        household,
        round_no=body.round,
        visited_on=body.visited_on,
        visitor=body.visitor,
        observations=body.observations,
        housing_grade=body.housing_grade,
        noted=noted,
        actor=actor.subject,
        renovation_days=config.renovation_days,
        now=now,
        today=today,
    )
    return idem.remember(_visit_read(visit, problems))


@router.get("/visits", openapi_extra=HOUSEHOLD_REACH)
async def list_visits(household_id: UUID, session: Reading, actor: Reader, paging: Paging) -> Page[VisitRead]:
    """List the household's visits (走访记录)

    Oldest first (by day, then round), each with the problems it found.
    """
    household = await reachable_household(session, household_id, actor)
    after = paging.after(date_key, int_key, uuid_key)
    rows = await visits.visits_page(session, household, after=after, limit=paging.limit + 1)
    items, next_cursor = paging.page(rows, lambda v: [v.visited_on.isoformat(), v.round, str(v.id)])
    problems = await visits.problems_of(session, items)
    return Page(items=[_visit_read(v, problems[v.id]) for v in items], next_cursor=next_cursor)


@router.get("/open-findings", openapi_extra=HOUSEHOLD_REACH)
async def list_open_findings(
    household_id: UUID, session: Reading, actor: Reader, paging: Paging
) -> Page[OpenFindingRead]:
    """List audit's open findings about the household (问题整改)

    The findings audit recorded from the household's problems while their rectification is open, with deadline,
    severity and whether they were referred to the discipline commission, as audit's events reported them
    (eventually consistent), least recently changed first. A finding leaves the list when its rectification closes.
    """
    household = await reachable_household(session, household_id, actor)
    after = paging.after(datetime_key, uuid_key)
    rows = await open_findings(session, household, after=after, limit=paging.limit + 1)
    items, next_cursor = paging.page(rows, lambda f: [f.updated_at.isoformat(), str(f.finding_id)])
    return Page(items=[OpenFindingRead(**f.model_dump()) for f in items], next_cursor=next_cursor)

"""Routes for visits (走访), and audit's findings about the household that are still open."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from services.households.api.deps import REGISTRARS, Config, Reader, Visitor
from services.households.domain import visits
from services.households.domain.access import reachable_household
from services.households.domain.problems import open_findings
from services.households.models import Visit, VisitProblem
from services.households.rules.visits import ProblemNoted
from services.households.rules.vocabulary import SAFE_GRADES
from services.households.schemas.visits import OpenFindingRead, ProblemRead, VisitCreate, VisitRead
from shared.api.clock import Today
from shared.errors import Forbidden
from shared.http import Transaction

router = APIRouter(prefix="/households/{household_id}", tags=["visits"])


def _visit_read(visit: Visit, problems: list[VisitProblem]) -> VisitRead:
    return VisitRead(
        **visit.model_dump(),
        problems=[ProblemRead(id=p.id, category=p.category, code=p.code, description=p.description) for p in problems],
    )


@router.post("/visits", status_code=status.HTTP_201_CREATED)
async def record_visit(
    household_id: UUID, body: VisitCreate, session: Transaction, actor: Visitor, config: Config, today: Today
) -> VisitRead:
    """Record a visit (走访); each problem found goes to audit as an event."""
    if body.housing_grade in SAFE_GRADES and not actor.has_any(REGISTRARS):
        # A safe grade re-grades an unsafe house (renovation accepted): an officer's appraisal, not a visitor's finding.
        raise Forbidden("Only a district, township or village officer records a safe housing grade (A or B).")
    household = await reachable_household(session, household_id, actor, for_update=True)
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
        today=today,
    )
    return _visit_read(visit, problems)


@router.get("/visits")
async def list_visits(household_id: UUID, session: Transaction, actor: Reader) -> list[VisitRead]:
    """The household's visits, oldest first, with the problems each found."""
    household = await reachable_household(session, household_id, actor)
    return [_visit_read(v, await visits.problems_of(session, v)) for v in await visits.visits_of(session, household)]


@router.get("/open-findings")
async def list_open_findings(household_id: UUID, session: Transaction, actor: Reader) -> list[OpenFindingRead]:
    """Audit's findings about the household still open: their rectification deadlines and referrals."""
    household = await reachable_household(session, household_id, actor)
    return [OpenFindingRead(**f.model_dump()) for f in await open_findings(session, household)]

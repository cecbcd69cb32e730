"""Routes of the scheduled checks (定期核查), run on demand."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from services.projects.domain import checks
from services.projects.schemas.checks import CheckCounts, CheckRunRead
from services.projects.settings import ProjectsSettings
from shared.api.clock import Now, Today
from shared.auth import Principal, Role, require_roles
from shared.http import Transaction

router = APIRouter(prefix="/checks", tags=["checks"])
# The checks judge every project of the district: only district-wide roles run them.
CheckRunner = Annotated[Principal, Depends(require_roles(Role.DISTRICT_OFFICE, Role.INSPECTOR))]


async def _distribution_days(request: Request) -> int:
    settings: ProjectsSettings = request.app.state.runtime.settings
    return settings.income_distribution_days


@router.post("")
async def run_checks(
    session: Transaction,
    actor: CheckRunner,
    now: Now,
    today: Today,
    days: Annotated[int, Depends(_distribution_days)],
) -> CheckRunRead:
    """Run every scheduled check now (定期核查)

    What the worker does every `PROJECTS_CHECK_INTERVAL_SECONDS`, on the district's day of the request: a milestone
    not completed after its due day on a project not closed (`milestone_overdue`, general); a project not accepted
    by its `acceptance_due_on` (`acceptance_overdue`, serious); the latest insurance or maintenance contract of a
    project in operation expired with none of its kind covering today (`contract_expired`, general); an asset's
    ended year in which its income fell below the agreed return (`income_below_return`, general); an income with
    no approved plan `PROJECTS_INCOME_DISTRIBUTION_DAYS` after it arrived (`income_not_distributed`, serious).
    Each is kept as a problem of its project and published as `ProjectProblemFound` with its severity, once:
    answers how many new problems this run reported by code (none when repeated). A project another run is
    reporting at that moment is left to it.

    The district office and inspectors may run it (every project of the district is judged, so no area-scoped
    role may); anyone else is refused (403).
    """
    counts = await checks.run_checks(session, today=today, distribution_days=days, found_by=actor.subject)
    return CheckRunRead(checked_at=now, checked_on=today, found=CheckCounts.of(counts), total=counts.total())

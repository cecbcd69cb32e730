"""The scheduled checks' worker (定期核查): every `check_interval_seconds`, every check runs on the district's day, as
`scheduler`.

`run_scheduled_checks` is a plain use case taking `now` (tests pass the clock): it finds what is late in one
transaction, then reports each project's lapses in a transaction of its own, the project's row claimed
`FOR UPDATE SKIP LOCKED` on PostgreSQL, so replicas running the worker at once report each problem once.
`scheduled_checks` is the worker that runs it for the service's life.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.projects.domain.checks import find_lapses, report_lapses
from services.projects.settings import ProjectsSettings
from shared.db import unit_of_work
from shared.metrics import SCHEDULED_CHECK_RUNS
from shared.periodic import every
from shared.service import ServiceRuntime, Worker
from shared.timeutil import DISTRICT_TZ

log = logging.getLogger(__name__)
SCHEDULER = "scheduler"  # who a scheduled check's problems are found by
METRIC_LABEL = "project_checks"


@dataclass(frozen=True)
class CheckRun:
    """What one run did: projects with lapses reported, problems reported, projects whose report failed (tried
    again next run)."""

    projects: int = 0
    problems: int = 0
    failed: int = 0


async def run_scheduled_checks(
    sessions: async_sessionmaker[AsyncSession], *, now: datetime, distribution_days: int
) -> CheckRun:
    """One run: every check, each project's problems in its own transaction. A project whose report fails is logged
    and left for the next run; the run is counted in `poverty_scheduled_check_runs_total{check="project_checks"}`
    (`failed` if any)."""
    today = now.astimezone(DISTRICT_TZ).date()  # the district's day at `now`
    async with sessions() as session:
        by_project = await find_lapses(session, today=today, distribution_days=distribution_days)
    projects = problems = failed = 0
    for project_id in sorted(by_project):
        try:
            async with unit_of_work(sessions) as session:
                reported = await report_lapses(
                    session, project_id, by_project[project_id], today=today, found_by=SCHEDULER
                )
        except Exception:  # one project's failure (a database hiccup) must not keep the others unreported
            log.exception("scheduled checks of a project failed", extra={"project_id": str(project_id)})
            failed += 1
            continue
        if reported:
            projects, problems = projects + 1, problems + len(reported)
    SCHEDULED_CHECK_RUNS.labels(METRIC_LABEL, "failed" if failed else "ok").inc()
    return CheckRun(projects, problems, failed)


def scheduled_checks(settings: ProjectsSettings, clock: Callable[[], datetime]) -> Worker:
    """The background worker: a run every `check_interval_seconds` for the service's life.

    The worker is an edge: it reads `clock` (the wall clock, given by the app) once a run and passes it down.
    """
    interval, days = settings.check_interval_seconds, settings.income_distribution_days

    async def run_project_checks(runtime: ServiceRuntime) -> None:
        run = await run_scheduled_checks(runtime.sessions, now=clock(), distribution_days=days)
        if run.problems or run.failed:
            log.info("scheduled project checks", extra=asdict(run))

    return every(interval, run_project_checks, what="scheduled project checks")

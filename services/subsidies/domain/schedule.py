"""Scheduled checks of settled cycles (定期核查): every `coverage_check_interval_seconds`, each cycle of the catalogue
paid or closed within the last `coverage_check_days` — or approved within them, answered by the bank and not all
paid — whose last scheduled check is older than the interval gets a coverage check and a leakage check, as
`scheduler`. Older cycles are left to checks run on demand: re-checking every cycle ever paid, every hour, forever,
would only grow.

`run_cycle_checks` is a plain use case taking `now` (tests pass the clock); `scheduled_cycle_checks` is the worker
that runs it for the service's life. Each cycle is checked in a transaction of its own, its row claimed
`FOR UPDATE SKIP LOCKED` on PostgreSQL, so replicas running the worker at once check each cycle once an interval.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.subsidies.domain.coverage import check_coverage
from services.subsidies.domain.leakage import check_leakage
from services.subsidies.models import CoverageCheck, Cycle, DisbursementBatch
from services.subsidies.rules.vocabulary import BatchStatus, CycleStatus, DecidedBy
from services.subsidies.settings import SubsidiesSettings
from shared.db import unit_of_work
from shared.metrics import SCHEDULED_CHECK_RUNS
from shared.periodic import every
from shared.service import ServiceRuntime, Worker
from shared.timeutil import DISTRICT_TZ

log = logging.getLogger(__name__)
SCHEDULER = "scheduler"  # who a scheduled check is recorded as run by
SETTLED = (CycleStatus.PAID, CycleStatus.CLOSED)


@dataclass(frozen=True)
class CycleCheckRun:
    """What one run did: cycles checked, gaps and leaks found, cycles whose check failed (retried next run)."""

    cycles: int = 0
    gaps: int = 0
    leaks: int = 0
    failed: int = 0


@dataclass(frozen=True)
class Cadence:
    """How often a settled cycle is checked (`interval`), and for how long after it was paid or closed (`within`)."""

    interval: timedelta
    within: timedelta

    @classmethod
    def of(cls, settings: SubsidiesSettings) -> Cadence:
        return cls(
            timedelta(seconds=settings.coverage_check_interval_seconds), timedelta(days=settings.coverage_check_days)
        )


def _due(now: datetime, cadence: Cadence) -> list[ColumnElement[bool]]:
    """A cycle paid or closed within `cadence.within` before `now`, with no scheduled check within the interval."""
    recent = exists().where(
        col(CoverageCheck.cycle_id) == col(Cycle.id), col(CoverageCheck.checked_at) > now - cadence.interval
    )
    since = now - cadence.within
    settled_lately = and_(col(Cycle.status).in_(SETTLED), or_(col(Cycle.paid_at) > since, col(Cycle.closed_at) > since))
    # An approved cycle the bank has answered for but not all paid (failed lines awaiting a follow-up) is where the
    # gaps are: it is checked too, from its approval.
    answered = exists().where(
        col(DisbursementBatch.cycle_id) == col(Cycle.id), col(DisbursementBatch.status) == BatchStatus.RECONCILED
    )
    partly_paid = and_(col(Cycle.status) == CycleStatus.APPROVED, col(Cycle.approved_at) > since, answered)
    # A cycle of projects' order is paid as projects decided it: no rule of the catalogue checks its coverage or leaks.
    return [col(Cycle.origin) == DecidedBy.CATALOGUE, or_(settled_lately, partly_paid), ~recent]


async def due_cycles(session: AsyncSession, *, now: datetime, cadence: Cadence) -> list[UUID]:
    """The cycles a run at `now` checks, by id."""
    rows = await session.scalars(select(col(Cycle.id)).where(*_due(now, cadence)).order_by(col(Cycle.id)))
    return list(rows.all())


async def check_cycle(
    session: AsyncSession, cycle_id: UUID, *, now: datetime, cadence: Cadence
) -> tuple[CoverageCheck, int] | None:
    """Check one cycle's coverage (`cycle_id` on the check) and its programme's payments for the period, unless
    another run holds it or checked it meanwhile (None). Returns the coverage check and the new leaks' count."""
    claim = (
        select(Cycle).where(col(Cycle.id) == cycle_id, *_due(now, cadence)).with_for_update(skip_locked=True, of=Cycle)
    )
    cycle = (await session.scalars(claim)).first()
    if cycle is None:
        return None
    today = now.astimezone(DISTRICT_TZ).date()  # the district's day at `now`
    coverage = await check_coverage(
        session,
        policy_code=cycle.programme_code,
        period=cycle.period,
        area_code=None,
        checked_by=SCHEDULER,
        today=today,
        now=now,
        cycle_id=cycle.id,
    )
    leakage = await check_leakage(
        session, policy_code=cycle.programme_code, period=cycle.period, checked_by=SCHEDULER, today=today, now=now
    )
    return coverage, leakage.leak_count


async def run_cycle_checks(
    sessions: async_sessionmaker[AsyncSession], *, now: datetime, cadence: Cadence
) -> CycleCheckRun:
    """One run: every due cycle, each in its own transaction. A cycle whose check fails is logged and left for the
    next run; the run is counted in `poverty_scheduled_check_runs_total{check="cycle_checks"}` (`failed` if any)."""
    async with sessions() as session:
        cycle_ids = await due_cycles(session, now=now, cadence=cadence)
    run = CycleCheckRun()
    for cycle_id in cycle_ids:
        try:
            async with unit_of_work(sessions) as session:
                done = await check_cycle(session, cycle_id, now=now, cadence=cadence)
        except Exception:  # one cycle's failure (a database hiccup) must not keep the others unchecked
            log.exception("scheduled check of a cycle failed", extra={"cycle_id": str(cycle_id)})
            run = CycleCheckRun(run.cycles, run.gaps, run.leaks, run.failed + 1)
            continue
        if done is not None:
            coverage, leaks = done
            run = CycleCheckRun(run.cycles + 1, run.gaps + coverage.gap_count, run.leaks + leaks, run.failed)
    SCHEDULED_CHECK_RUNS.labels("cycle_checks", "failed" if run.failed else "ok").inc()
    return run


def scheduled_cycle_checks(settings: SubsidiesSettings, clock: Callable[[], datetime]) -> Worker:
    """The background worker: a run every `coverage_check_interval_seconds` (0: never) for the service's life.

    The worker is an edge: it reads `clock` (the wall clock, given by the app) once a run and passes it down.
    """
    cadence = Cadence.of(settings)

    async def run_scheduled_cycle_checks(runtime: ServiceRuntime) -> None:
        run = await run_cycle_checks(runtime.sessions, now=clock(), cadence=cadence)
        if run.cycles or run.failed:
            log.info("scheduled cycle checks", extra=asdict(run))

    return every(cadence.interval.total_seconds(), run_scheduled_cycle_checks, what="scheduled cycle checks")

"""The scheduled checks: reminders before a deadline, overdue tasks (referred at once), the weekly handover.

Each check is a plain use case taking `now` (tests pass an explicit clock); `scheduled_checks` is the
worker that runs them periodically. Several replicas may run it at once: due tasks are claimed with
`FOR UPDATE SKIP LOCKED` on PostgreSQL and each is marked at most once a deadline (`overdue_at`, `reminded_at`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.audit.domain.notifications import notify_about
from services.audit.domain.referrals import hand_over_serious_findings, refer_to_discipline_commission
from services.audit.events import publish
from services.audit.models import Finding, RectificationTask
from services.audit.rules.lifecycle import ACTIVE, is_due_soon, is_overdue
from services.audit.rules.notifications import NotificationKind
from services.audit.rules.periods import IsoWeek
from services.audit.rules.referrals import ReferralReason
from services.audit.settings import AuditSettings
from shared.contracts.audit import RectificationDueSoon, RectificationOverdue, SubjectKind
from shared.db import unit_of_work
from shared.metrics import SCHEDULED_CHECK_RUNS
from shared.periodic import every
from shared.service import ServiceRuntime, Worker

log = logging.getLogger(__name__)


async def _claim(
    session: AsyncSession, *conditions: ColumnElement[bool], limit: int
) -> list[tuple[RectificationTask, Finding]]:
    """Candidate tasks (the query narrows, the rule in `lifecycle` decides), soonest deadline first, locked with
    their findings (a referral or a closing writes the finding too); rows another transaction holds (a replica's
    run, an officer's action, a repeat of the problem) are skipped until the next run, never waited for."""
    stmt = (
        select(RectificationTask, Finding)
        .join(Finding, col(Finding.id) == col(RectificationTask.finding_id))
        .where(col(RectificationTask.status).in_(ACTIVE), *conditions)
        .order_by(col(RectificationTask.deadline))
        .limit(limit)
        .with_for_update(skip_locked=True, of=(RectificationTask, Finding))
    )
    return [(task, finding) for task, finding in (await session.execute(stmt)).tuples().all()]


def _deadline_event(
    event: type[RectificationDueSoon | RectificationOverdue], task: RectificationTask, finding: Finding
) -> RectificationDueSoon | RectificationOverdue:
    """A reminder or an overdue notice about a task's deadline, keyed by its finding."""
    return event(
        finding_id=finding.id,
        subject_kind=SubjectKind(finding.subject_kind),
        subject_id=finding.subject_id,
        task_id=task.id,
        owner=task.owner,
        deadline=task.deadline,
    )


async def mark_overdue(session: AsyncSession, *, now: datetime, limit: int = 100) -> list[RectificationTask]:
    """Mark tasks past their deadline overdue (once each), publish it and refer each to the commission."""
    claimed = await _claim(
        session,
        col(RectificationTask.overdue_at).is_(None),
        col(RectificationTask.deadline) < now,
        limit=limit,
    )
    due = [(task, finding) for task, finding in claimed if is_overdue(task.status, task.deadline, now)]
    for task, finding in due:
        task.overdue_at = now
        publish(session, _deadline_event(RectificationOverdue, task, finding))
        await notify_about(session, finding, NotificationKind.OVERDUE, now=now, task=task)
        await refer_to_discipline_commission(session, finding, reason=ReferralReason.OVERDUE_TASK, now=now, task=task)
    return [task for task, _ in due]


async def remind_due_soon(
    session: AsyncSession, *, now: datetime, lead: timedelta, limit: int = 100
) -> list[RectificationTask]:
    """Remind the owners of tasks due within `lead` (once per deadline: moving it re-arms the reminder)."""
    claimed = await _claim(
        session,
        col(RectificationTask.reminded_at).is_(None),
        col(RectificationTask.deadline) >= now,
        col(RectificationTask.deadline) <= now + lead,
        limit=limit,
    )
    due = [(task, finding) for task, finding in claimed if is_due_soon(task.status, task.deadline, now, lead)]
    for task, finding in due:
        task.reminded_at = now
        publish(session, _deadline_event(RectificationDueSoon, task, finding))
        await notify_about(session, finding, NotificationKind.DUE_SOON, now=now, task=task)
    return [task for task, _ in due]


@dataclass(frozen=True)
class CheckRun:
    """What one run of the scheduled checks did."""

    reminded: int
    overdue: int
    handed_over: int


async def run_checks(sessions: async_sessionmaker[AsyncSession], settings: AuditSettings, *, now: datetime) -> CheckRun:
    """One run: each check in batches, one transaction per batch, until nothing is left to do. Each check's run is
    counted in `poverty_scheduled_check_runs_total` (`ok`, or `failed` when it raised, which ends the run)."""
    limit = settings.scan_batch_size
    lead = timedelta(days=settings.due_soon_days)
    counts = [0, 0, 0]
    checks: list[tuple[str, Callable[[AsyncSession], Awaitable[Sequence[object]]]]] = [
        ("reminders", lambda s: remind_due_soon(s, now=now, lead=lead, limit=limit)),
        ("overdue", lambda s: mark_overdue(s, now=now, limit=limit)),
        (
            "weekly_handover",
            lambda s: hand_over_serious_findings(s, recorded_before=IsoWeek.of(now).starts_at, now=now, limit=limit),
        ),
    ]
    for index, (name, check) in enumerate(checks):
        try:
            while True:
                async with unit_of_work(sessions) as session:
                    done = len(await check(session))
                counts[index] += done
                if done < limit:
                    break
        except Exception:
            SCHEDULED_CHECK_RUNS.labels(name, "failed").inc()
            raise
        SCHEDULED_CHECK_RUNS.labels(name, "ok").inc()
    return CheckRun(*counts)


def scheduled_checks(settings: AuditSettings, clock: Callable[[], datetime]) -> Worker:
    """The background worker: run the checks every `overdue_scan_interval_s` seconds for the service's life.

    The worker is an edge: it reads `clock` (the wall clock, given by the app) once a run and passes it down.
    """

    async def run_scheduled_checks(runtime: ServiceRuntime) -> None:
        run = await run_checks(runtime.sessions, settings, now=clock())
        if run.reminded or run.overdue or run.handed_over:
            log.info("scheduled checks", extra=asdict(run))

    return every(settings.overdue_scan_interval_s, run_scheduled_checks, what="scheduled checks")

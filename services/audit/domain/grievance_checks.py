"""The reply deadline of grievances, checked: a grievance still unanswered after its last day (答复期限) opens a finding
of its township (`grievance_unanswered`, conduct, serious), once per grievance; more in a township while one is open
are occurrences of it.

`check_unanswered` is a use case taking `today` and `now`; `grievance_checks` is the worker that runs it every
`grievance_check_interval_s`. Several replicas may run it at once: due grievances are claimed with `FOR UPDATE SKIP
LOCKED` on PostgreSQL, and each is marked (`unanswered_finding_id`) in the transaction that records its finding.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.audit.domain.findings import load_open_findings, record_finding
from services.audit.domain.grievances import SOURCE
from services.audit.models import Grievance
from services.audit.rules import grievances as rules
from services.audit.rules.findings import DeadlinePolicy, EvidenceRef, ProblemFacts
from services.audit.rules.periods import district_day
from services.audit.settings import AuditSettings
from shared.areas import township_of
from shared.contracts.audit import Severity, SubjectKind
from shared.db import unit_of_work
from shared.metrics import SCHEDULED_CHECK_RUNS
from shared.periodic import every
from shared.service import ServiceRuntime, Worker

log = logging.getLogger(__name__)
CHECK = "grievance_deadlines"  # its name in `poverty_scheduled_check_runs_total`


async def check_unanswered(
    session: AsyncSession, *, policy: DeadlinePolicy, today: date, now: datetime, limit: int = 100
) -> list[Grievance]:
    """Open the finding of each grievance unanswered past its last day and not yet marked, oldest due first."""
    stmt = (
        select(Grievance)
        .where(
            col(Grievance.status) != rules.GrievanceStatus.REPLIED,
            col(Grievance.response_due_on) < today,
            col(Grievance.unanswered_finding_id).is_(None),
        )
        .order_by(col(Grievance.response_due_on), col(Grievance.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    due = [g for g in (await session.scalars(stmt)).all() if rules.is_unanswered(g.status, g.response_due_on, today)]
    problems = [_facts(grievance, today) for grievance in due]
    # Every township's open finding held at once, in one order: two replicas' batches never wait for each other
    # in a circle, as they could holding one township each and asking for the other's.
    await load_open_findings(session, [(p.subject_kind, p.subject_id, p.code) for p in problems])
    for grievance, problem in zip(due, problems, strict=True):
        finding = await record_finding(session, problem, policy=policy, now=now, source=SOURCE)
        grievance.unanswered_finding_id = finding.id
    return due


def _facts(grievance: Grievance, today: date) -> ProblemFacts:
    township = township_of(grievance.area_code)
    return ProblemFacts(
        subject_kind=SubjectKind.UNIT,
        subject_id=township,
        area_code=township,
        category=rules.UNANSWERED_CATEGORY,
        code=rules.UNANSWERED_CODE,
        description=rules.unanswered_description(grievance.channel, grievance.received_on, grievance.response_due_on),
        source_ref=str(grievance.id),
        stated_severity=Severity.SERIOUS,
        found_on=today,  # the check's day: audit's own check found it
        evidence=(EvidenceRef(kind="document", reference=f"{rules.EVIDENCE_PREFIX}{grievance.id}"),),
    )


async def run_grievance_checks(
    sessions: async_sessionmaker[AsyncSession], settings: AuditSettings, *, now: datetime
) -> int:
    """One run, in batches of `scan_batch_size`, one transaction each, until none is left; how many were found.
    Counted in `poverty_scheduled_check_runs_total{check="grievance_deadlines"}` (`failed` when it raised)."""
    policy, today, limit, found = settings.deadline_policy(), district_day(now), settings.scan_batch_size, 0
    try:
        while True:
            async with unit_of_work(sessions) as session:
                done = len(await check_unanswered(session, policy=policy, today=today, now=now, limit=limit))
            found += done
            if done < limit:
                break
    except Exception:
        SCHEDULED_CHECK_RUNS.labels(CHECK, "failed").inc()
        raise
    SCHEDULED_CHECK_RUNS.labels(CHECK, "ok").inc()
    return found


def grievance_checks(settings: AuditSettings, clock: Callable[[], datetime]) -> Worker:
    """The background worker: a run every `grievance_check_interval_s` seconds for the service's life.

    The worker is an edge: it reads `clock` (the wall clock, given by the app) once a run and passes it down.
    """

    async def run_scheduled_grievance_checks(runtime: ServiceRuntime) -> None:
        found = await run_grievance_checks(runtime.sessions, settings, now=clock())
        if found:
            log.info("grievances past their reply deadline", extra={"found": found})

    return every(settings.grievance_check_interval_s, run_scheduled_grievance_checks, what="grievance checks")

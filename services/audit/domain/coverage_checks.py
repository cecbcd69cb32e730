"""The end-of-campaign coverage check (全覆盖核查): once a campaign has ended, each township of its scope that it did
not fully reach gets a finding (`coverage_incomplete`, conduct, serious: handed to the discipline commission in the
weekly handover), found on the campaign's last day. Each campaign is judged once (`coverage_checked_at`).

`check_ended_campaigns` is the use case (the district office may run it at once); `coverage_checks` the worker that
runs it every `coverage_check_interval_s`. Several replicas may run it: campaigns are claimed `FOR UPDATE SKIP
LOCKED` and marked checked in the transaction that records their findings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.audit.domain.coverage import township_coverage
from services.audit.domain.findings import record_finding
from services.audit.models import InspectionCampaign
from services.audit.rules.campaigns import (
    COVERAGE_FINDING_CODE,
    TownshipCoverage,
    coverage_gap_description,
    is_due_for_coverage_check,
)
from services.audit.rules.findings import DeadlinePolicy, ProblemFacts
from services.audit.rules.periods import district_day
from services.audit.settings import AuditSettings
from shared.contracts.audit import ScopeLevel, Severity, SubjectKind
from shared.contracts.households import ProblemCategory
from shared.db import unit_of_work
from shared.metrics import SCHEDULED_CHECK_RUNS
from shared.periodic import every
from shared.service import ServiceRuntime, Worker

log = logging.getLogger(__name__)
SOURCE = "coverage"  # the findings' source, as `poverty_findings_opened_total` counts it


@dataclass(frozen=True)
class CoverageCheck:
    """One campaign judged: its townships below full coverage, each now a finding."""

    campaign_id: UUID
    townships: int
    below_full: tuple[UUID, ...]  # the findings recorded (or repeated) for them


async def check_ended_campaigns(
    session: AsyncSession, *, policy: DeadlinePolicy, now: datetime, limit: int
) -> list[CoverageCheck]:
    """Judge the coverage of up to `limit` campaigns that ended before today (district calendar) and were not
    judged yet, earliest end first; a campaign another transaction holds is left to the next run."""
    today = district_day(now)
    stmt = (
        select(InspectionCampaign)
        .where(
            col(InspectionCampaign.coverage_checked_at).is_(None),
            col(InspectionCampaign.ends_on) < today,
            col(InspectionCampaign.scope_level) != ScopeLevel.PROJECT,
        )
        .order_by(col(InspectionCampaign.ends_on), col(InspectionCampaign.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    checks = []
    for campaign in (await session.scalars(stmt)).all():
        level, checked = ScopeLevel(campaign.scope_level), campaign.coverage_checked_at is not None
        if is_due_for_coverage_check(level, campaign.ends_on, checked, today=today):
            checks.append(await _judge(session, campaign, policy=policy, now=now))
    return checks


async def _judge(
    session: AsyncSession, campaign: InspectionCampaign, *, policy: DeadlinePolicy, now: datetime
) -> CoverageCheck:
    townships = await township_coverage(session, campaign)
    found = [
        await record_finding(session, _gap(campaign, coverage), policy=policy, now=now, source=SOURCE)
        for coverage in townships
        if not coverage.complete
    ]
    campaign.coverage_checked_at = now
    return CoverageCheck(campaign.id, len(townships), tuple(finding.id for finding in found))


def _gap(campaign: InspectionCampaign, coverage: TownshipCoverage) -> ProblemFacts:
    """The township's finding: the unit answering for the round's visits (乡镇) is its subject; the area's officer
    answers for it."""
    return ProblemFacts(
        subject_kind=SubjectKind.UNIT,
        subject_id=coverage.township,
        area_code=coverage.township,
        category=ProblemCategory.CONDUCT,
        code=COVERAGE_FINDING_CODE,
        description=coverage_gap_description(coverage, campaign_name=campaign.name, round=campaign.round),
        source_ref=f"campaign:{campaign.id}",
        stated_severity=Severity.SERIOUS,
        campaign_id=campaign.id,
        found_on=campaign.ends_on,
        # Audit judges the gap itself once the campaign is over: no one kept it back (迟报), however late the check.
        reported_on=campaign.ends_on,
    )


async def run_coverage_checks(
    sessions: async_sessionmaker[AsyncSession], settings: AuditSettings, *, now: datetime
) -> list[CoverageCheck]:
    """One run: campaigns in batches of `scan_batch_size`, one transaction each, until none is left. Counted in
    `poverty_scheduled_check_runs_total{check="coverage"}`."""
    policy, limit, done = settings.deadline_policy(), settings.scan_batch_size, []
    try:
        while True:
            async with unit_of_work(sessions) as session:
                batch = await check_ended_campaigns(session, policy=policy, now=now, limit=limit)
            done += batch
            if len(batch) < limit:
                break
    except Exception:
        SCHEDULED_CHECK_RUNS.labels(SOURCE, "failed").inc()
        raise
    SCHEDULED_CHECK_RUNS.labels(SOURCE, "ok").inc()
    return done


def coverage_checks(settings: AuditSettings, clock: Callable[[], datetime]) -> Worker:
    """The background worker: judge ended campaigns every `coverage_check_interval_s` seconds (first run one
    interval after start-up). An edge: it reads `clock` (the wall clock, given by the app) once a run."""

    async def run_coverage(runtime: ServiceRuntime) -> None:
        checks = await run_coverage_checks(runtime.sessions, settings, now=clock())
        if checks:
            findings = sum(len(check.below_full) for check in checks)
            log.info("coverage checks", extra={"campaigns": len(checks), "findings": findings})

    return every(settings.coverage_check_interval_s, run_coverage, what="coverage checks")

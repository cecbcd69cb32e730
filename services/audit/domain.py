"""Audit use cases: a problem becomes a finding, which opens a rectification task and may be referred."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.audit.models import DisciplineReferral, Finding, FindingStatus, RectificationTask
from services.audit.rules import DeadlinePolicy, ProblemFacts, classify, owner_for, referral_reason_at_opening
from shared.contracts.audit import (
    DisciplineReferralMade,
    FindingRecorded,
    FindingRecurred,
    RectificationOpened,
    SubjectKind,
)
from shared.messaging.outbox import record_event

SOURCE = "/services/audit"


async def record_finding(
    session: AsyncSession, facts: ProblemFacts, *, policy: DeadlinePolicy, now: datetime
) -> Finding:
    """Record a problem: a repeat adds an occurrence; a new one opens a task and, if severe, a referral."""
    existing = await _open_finding(session, facts)
    if existing is not None:
        existing.occurrences += 1
        existing.last_seen_at = now
        await record_event(
            session,
            FindingRecurred(
                finding_id=existing.id,
                subject_kind=facts.subject_kind,
                subject_id=facts.subject_id,
                occurrences=existing.occurrences,
            ),
            source=SOURCE,
        )
        return existing
    severity = classify(facts)
    finding = Finding(
        subject_kind=facts.subject_kind,
        subject_id=facts.subject_id,
        area_code=facts.area_code,
        category=facts.category,
        code=facts.code,
        severity=severity,
        description=facts.description,
        source_ref=facts.source_ref,
        opened_at=now,
        last_seen_at=now,
    )
    session.add(finding)
    await session.flush()  # tasks and referrals reference it; without relationships the flush order is ours to set
    await record_event(
        session,
        FindingRecorded(
            finding_id=finding.id,
            subject_kind=facts.subject_kind,
            subject_id=facts.subject_id,
            area_code=facts.area_code,
            category=facts.category,
            code=facts.code,
            severity=severity,
            description=facts.description,
        ),
        source=SOURCE,
    )
    await open_rectification(session, finding, owner=owner_for(facts), deadline=policy.deadline(severity, now))
    reason = referral_reason_at_opening(severity)
    if reason:
        await refer_to_discipline_commission(session, finding, reason=reason, now=now)
    return finding


async def open_rectification(
    session: AsyncSession, finding: Finding, *, owner: str, deadline: datetime
) -> RectificationTask:
    """Open the rectification task (整改任务) of a finding."""
    task = RectificationTask(finding_id=finding.id, owner=owner, deadline=deadline, opened_at=finding.opened_at)
    session.add(task)
    await record_event(
        session,
        RectificationOpened(
            finding_id=finding.id,
            subject_kind=SubjectKind(finding.subject_kind),
            subject_id=finding.subject_id,
            task_id=task.id,
            owner=owner,
            deadline=deadline,
        ),
        source=SOURCE,
    )
    return task


async def refer_to_discipline_commission(
    session: AsyncSession, finding: Finding, *, reason: str, now: datetime
) -> DisciplineReferral:
    """Hand the finding to the discipline commission as a lead (线索移交)."""
    referral = DisciplineReferral(finding_id=finding.id, reason=reason, referred_at=now)
    session.add(referral)
    await record_event(
        session,
        DisciplineReferralMade(
            finding_id=finding.id,
            subject_kind=SubjectKind(finding.subject_kind),
            subject_id=finding.subject_id,
            referral_id=referral.id,
            reason=reason,
        ),
        source=SOURCE,
    )
    return referral


async def _open_finding(session: AsyncSession, facts: ProblemFacts) -> Finding | None:
    return (
        await session.scalars(
            select(Finding).where(
                col(Finding.subject_kind) == facts.subject_kind,
                col(Finding.subject_id) == facts.subject_id,
                col(Finding.code) == facts.code,
                col(Finding.status) == FindingStatus.OPEN,
            )
        )
    ).first()

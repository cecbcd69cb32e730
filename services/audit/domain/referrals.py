"""Referrals to the discipline commission (纪委线索移交): at once for severe findings, overdue tasks and
failed follow-up checks; weekly for the serious findings (每周对较严重问题向区纪委进行线索移交)."""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.audit.domain.filters import Days, Facets
from services.audit.domain.notifications import notify_about
from services.audit.events import publish
from services.audit.models import DisciplineReferral, Finding, RectificationTask
from services.audit.rules.lifecycle import ACTIVE
from services.audit.rules.notifications import NotificationKind
from services.audit.rules.referrals import WEEKLY_HANDOVER_SEVERITY, ReferralReason
from shared.api.pagination import Key
from shared.contracts.audit import DisciplineReferralMade, SubjectKind
from shared.db import keyset
from shared.entities import new_entity

log = logging.getLogger(__name__)


async def list_referrals(
    session: AsyncSession,
    *,
    finding_id: UUID | None,
    reason: ReferralReason | None,
    facets: Facets,
    referred: Days,
    after: Key | None,
    limit: int,
) -> list[DisciplineReferral]:
    """Referrals of one finding or for one reason if asked, of findings with the facets (the severity as referred),
    made on the days asked, newest first: (referred_at, id) descending, after the cursor's key."""
    stmt = (
        select(DisciplineReferral)
        .join(Finding, col(Finding.id) == col(DisciplineReferral.finding_id))
        .where(
            *facets.clauses(severity=col(DisciplineReferral.severity)),
            *referred.of_moments(col(DisciplineReferral.referred_at)),
        )
    )
    if finding_id:
        stmt = stmt.where(col(DisciplineReferral.finding_id) == finding_id)
    if reason:
        stmt = stmt.where(col(DisciplineReferral.reason) == reason)
    columns = [col(DisciplineReferral.referred_at), col(DisciplineReferral.id)]
    return list((await session.scalars(keyset(stmt, columns, after, limit=limit, descending=True))).all())


async def refer_to_discipline_commission(
    session: AsyncSession,
    finding: Finding,
    *,
    reason: ReferralReason,
    now: datetime,
    task: RectificationTask | None = None,
) -> DisciplineReferral:
    """Hand the finding to the discipline commission as a lead (线索移交)."""
    referral = new_entity(
        DisciplineReferral,
        finding_id=finding.id,
        reason=reason,
        severity=finding.severity,
        referred_at=now,
        task_id=task.id if task else None,
    )
    session.add(referral)
    if finding.referred_at is None:
        finding.referred_at = now
    publish(
        session,
        DisciplineReferralMade(
            finding_id=finding.id,
            subject_kind=SubjectKind(finding.subject_kind),
            subject_id=finding.subject_id,
            referral_id=referral.id,
            reason=reason,
        ),
    )
    await notify_about(session, finding, NotificationKind.REFERRED, now=now, task=task)
    log.info(
        "referral opened",
        extra={"finding_id": str(finding.id), "referral_id": str(referral.id), "reason": str(reason)},
    )
    return referral


async def hand_over_serious_findings(
    session: AsyncSession, *, recorded_before: datetime, now: datetime, limit: int = 500
) -> list[DisciplineReferral]:
    """Refer the serious findings recorded before `recorded_before` that no referral has reached yet.

    The scheduled check runs it for everything before the current week (the weekly handover); the district
    office may also hand over at once. Each finding is handed over once: it is then `referred_at`. A finding
    whose task is past its deadline but not yet marked is left to the overdue check, which refers it: otherwise a
    replica's handover running beside another's overdue check would refer it twice.
    """
    overdue_unmarked = (
        select(col(RectificationTask.id))
        .where(
            col(RectificationTask.finding_id) == col(Finding.id),
            col(RectificationTask.status).in_(ACTIVE),
            col(RectificationTask.deadline) < now,
            col(RectificationTask.overdue_at).is_(None),
        )
        .exists()
    )
    stmt = (
        select(Finding)
        .where(
            col(Finding.severity) == WEEKLY_HANDOVER_SEVERITY,
            col(Finding.referred_at).is_(None),
            col(Finding.opened_at) < recorded_before,
            ~overdue_unmarked,
        )
        .order_by(col(Finding.opened_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    findings = (await session.scalars(stmt)).all()
    return [
        await refer_to_discipline_commission(session, finding, reason=ReferralReason.WEEKLY_HANDOVER, now=now)
        for finding in findings
    ]

"""The weekly handover package (每周线索移交): the serious and severe leads referred in one ISO week."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.audit.models import DisciplineReferral, Finding, RectificationTask
from services.audit.rules.handover import HANDED_OVER, HandoverPackage, lead_of
from services.audit.rules.periods import IsoWeek


async def weekly_package(session: AsyncSession, week: IsoWeek, *, now: datetime) -> HandoverPackage:
    """The leads referred during `week`, serious and severe only, in the order they were referred."""
    stmt = (
        select(DisciplineReferral, Finding, RectificationTask)
        .join(Finding, col(Finding.id) == col(DisciplineReferral.finding_id))
        .outerjoin(RectificationTask, col(RectificationTask.finding_id) == col(Finding.id))
        .where(
            col(DisciplineReferral.referred_at) >= week.starts_at,
            col(DisciplineReferral.referred_at) < week.ends_at,
            col(DisciplineReferral.severity).in_(HANDED_OVER),
        )
        .order_by(col(DisciplineReferral.referred_at), col(DisciplineReferral.id))
    )
    rows = (await session.execute(stmt)).tuples().all()
    return HandoverPackage(week, now, tuple(lead_of(r, f, t) for r, f, t in rows))

"""The weekly handover package (每周线索移交): the serious and severe leads referred in one ISO week, and the heads of
the tamper-evident log anchored in it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.audit.domain.ledger_anchors import anchors_between
from services.audit.models import DisciplineReferral, Finding, RectificationTask
from services.audit.rules.handover import (
    HANDED_OVER,
    MAX_PACKAGE_ANCHORS,
    HandoverPackage,
    PackageTotals,
    anchor_of,
    lead_of,
    totals_of,
)
from services.audit.rules.periods import IsoWeek
from services.audit.rules.referrals import ReferralReason
from shared.api.pagination import Key
from shared.db import keyset
from shared.errors import InvalidInput


def _of_the_package(stmt: Select[Any], week: IsoWeek) -> Select[Any]:
    """The referrals a week's package holds: made in the week, serious or severe when made."""
    return stmt.where(
        col(DisciplineReferral.referred_at) >= week.starts_at,
        col(DisciplineReferral.referred_at) < week.ends_at,
        col(DisciplineReferral.severity).in_(HANDED_OVER),
    )


async def weekly_package(
    session: AsyncSession, week: IsoWeek, *, now: datetime, at_most: int | None = None
) -> HandoverPackage:
    """The leads referred during `week`, serious and severe only, in the order they were referred, and the log's heads
    anchored during it. With `at_most`,
    InvalidInput (naming the week) when the week holds more leads than that."""
    stmt = (
        select(DisciplineReferral, Finding, RectificationTask)
        .join(Finding, col(Finding.id) == col(DisciplineReferral.finding_id))
        .outerjoin(RectificationTask, col(RectificationTask.finding_id) == col(Finding.id))
        .order_by(col(DisciplineReferral.referred_at), col(DisciplineReferral.id))
    )
    stmt = _of_the_package(stmt, week)
    rows = (await session.execute(stmt if at_most is None else stmt.limit(at_most + 1))).tuples().all()
    if at_most is not None and len(rows) > at_most:
        raise InvalidInput(
            f"The week's package holds more than {at_most} leads: read its referrals by pages "
            f"(/v1/handover-packages/{week.label}/referrals), or the package as CSV or Markdown.",
            errors=[{"field": "path.week", "message": "too many leads for one document", "code": "package_too_large"}],
        )
    anchors = await anchors_between(session, week.starts_at, week.ends_at, at_most=MAX_PACKAGE_ANCHORS)
    return HandoverPackage(
        week,
        now,
        tuple(lead_of(r, f, t) for r, f, t in rows),
        tuple(anchor_of(a.seq, a.entry_hash, a.recorded_at, a.anchored_at) for a in anchors),
    )


async def package_totals(session: AsyncSession, week: IsoWeek) -> PackageTotals:
    """The week's package counted (as its document's totals), without reading its leads."""
    township = func.substr(col(Finding.area_code), 1, 9)  # `shared.areas.township_of`, in SQL
    reason, severity = col(DisciplineReferral.reason), col(DisciplineReferral.severity)
    stmt = _of_the_package(
        select(reason, severity, township, func.count()).join(
            Finding, col(Finding.id) == col(DisciplineReferral.finding_id)
        ),
        week,
    ).group_by(reason, severity, township)
    return totals_of((await session.execute(stmt)).tuples().all())


async def package_referrals(
    session: AsyncSession, week: IsoWeek, *, reason: ReferralReason | None, after: Key | None, limit: int
) -> list[DisciplineReferral]:
    """The referrals of the week's package (of one reason if asked), in the order made: (referred_at, id), after
    the cursor's key."""
    stmt = _of_the_package(select(DisciplineReferral), week)
    if reason is not None:
        stmt = stmt.where(col(DisciplineReferral.reason) == reason)
    columns = [col(DisciplineReferral.referred_at), col(DisciplineReferral.id)]
    return list((await session.scalars(keyset(stmt, columns, after, limit=limit))).all())

"""Reading the integrity checks' hits (核查比对): conflicts of interest and data comparisons, each with its evidence."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.models import Household, IntegrityHit
from services.households.rules.integrity import HitKind
from shared.db import keyset


async def hits_in(
    session: AsyncSession,
    area_code: str,
    *,
    kind: HitKind | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[IntegrityHit]:
    """Up to `limit` hits about households within `area_code` (of one kind if given), in (recorded, id) order after
    the cursor key."""
    stmt = (
        select(IntegrityHit)
        .join(Household, col(Household.id) == col(IntegrityHit.household_id))
        .where(col(Household.area_code).startswith(area_code))
    )
    if kind is not None:
        stmt = stmt.where(col(IntegrityHit.kind) == kind.value)
    order = (col(IntegrityHit.recorded_at), col(IntegrityHit.id))
    return list((await session.scalars(keyset(stmt, order, after, limit=limit))).all())

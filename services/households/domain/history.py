"""A household's change history (变更记录): who changed what, from what, to what; ID numbers only masked."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.models import HouseholdChange


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date | UUID):
        return str(value)
    return value


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The fields whose value differs, as {field: [old, new]}."""
    return {k: [_plain(before.get(k)), _plain(v)] for k, v in after.items() if _plain(before.get(k)) != _plain(v)}


def note(
    session: AsyncSession, household_id: UUID, *, actor: str, action: str, changes: Mapping[str, Any], now: datetime
) -> HouseholdChange:
    """Add one history entry in the caller's transaction, changed at `now` (the time the use case acts at)."""
    entry = HouseholdChange(
        household_id=household_id,
        changed_at=now,
        actor=actor,
        action=action,
        changes=json.dumps({k: _plain(v) for k, v in changes.items()}, ensure_ascii=False, default=str),
    )
    session.add(entry)
    return entry


async def page(session: AsyncSession, household_id: UUID, *, after_id: int, limit: int) -> list[HouseholdChange]:
    """History entries in order, after the entry `after_id` (0 for the first page)."""
    rows = await session.scalars(
        select(HouseholdChange)
        .where(col(HouseholdChange.household_id) == household_id, col(HouseholdChange.id) > after_id)
        .order_by(col(HouseholdChange.id))
        .limit(limit)
    )
    return list(rows.all())

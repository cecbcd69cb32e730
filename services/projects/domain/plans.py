"""Distribution plans of an asset's income (收益分配方案): prepared (摸底), reviewed (审核), approved, paid through
subsidies, accounted for (报账)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession


async def share_paid(
    session: AsyncSession, *, plan_id: UUID, household_id: UUID, payment_id: UUID, amount_fen: int, now: datetime
) -> None:
    """Subsidies paid a household its share of a plan (SubsidyPaid, cycle id = plan id)."""
    raise NotImplementedError  # the plans helper implements


async def share_reversed(session: AsyncSession, *, payment_id: UUID, now: datetime) -> None:
    """Subsidies reversed or recovered a share's payment; nothing when the payment is not a plan's."""
    raise NotImplementedError  # the plans helper implements

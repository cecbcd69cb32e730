"""Payrolls of the public-welfare posts (公益岗位工资表): prepared, approved, paid through subsidies."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession


async def line_paid(
    session: AsyncSession, *, payroll_id: UUID, member_id: UUID, payment_id: UUID, amount_fen: int, now: datetime
) -> None:
    """Subsidies paid a holder's allowance (SubsidyPaid, cycle id = payroll id)."""
    raise NotImplementedError  # the posts helper implements


async def line_reversed(session: AsyncSession, *, payment_id: UUID, now: datetime) -> None:
    """Subsidies reversed or recovered an allowance's payment; nothing when the payment is not a payroll's."""
    raise NotImplementedError  # the posts helper implements

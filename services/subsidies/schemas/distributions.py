"""Bodies of project income received (收益) and its shares among households (差异化分配)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from services.subsidies.models import IncomeStatus


class AllocationRead(BaseModel):
    id: UUID
    income_id: UUID
    project_id: UUID
    household_id: UUID
    period: str
    amount_fen: int
    member_count: int
    allocated_at: datetime


class IncomeRead(BaseModel):
    income_id: UUID
    project_id: UUID
    period: str
    amount_fen: int
    status: IncomeStatus = Field(
        description="distributed, or undistributed: no registered household in the township yet"
    )
    household_count: int
    received_at: datetime
    distributed_at: datetime | None

"""Routes of project income shared out to households (差异化分配)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from services.subsidies.api.deps import Limit, Reader
from services.subsidies.domain import distributions
from services.subsidies.schemas.distributions import AllocationRead
from shared.http import Transaction

router = APIRouter(prefix="/allocations", tags=["allocations"])


@router.get("")
async def list_allocations(
    session: Transaction, _: Reader, household_id: UUID | None = None, income_id: UUID | None = None, limit: Limit = 100
) -> list[AllocationRead]:
    """Project income shared out to households, newest first."""
    rows = await distributions.list_allocations(session, household_id=household_id, income_id=income_id, limit=limit)
    return [AllocationRead(**a.model_dump()) for a in rows]

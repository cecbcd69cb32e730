"""Routes of project incomes received (收益) and their distribution by hand."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from services.subsidies.api.deps import Limit, Payer, Reader
from services.subsidies.domain import distributions
from services.subsidies.models import IncomeStatus
from services.subsidies.schemas.distributions import IncomeRead
from shared.api.clock import Now
from shared.http import Transaction

router = APIRouter(prefix="/incomes", tags=["incomes"])


@router.get("")
async def list_incomes(
    session: Transaction,
    _: Reader,
    income_status: Annotated[IncomeStatus | None, Query(alias="status")] = None,
    project_id: UUID | None = None,
    limit: Limit = 100,
) -> list[IncomeRead]:
    """Project incomes received, newest first; `undistributed` ones found no household to share them."""
    rows = await distributions.list_incomes(session, status=income_status, project_id=project_id, limit=limit)
    return [IncomeRead(**r.model_dump()) for r in rows]


@router.post("/{income_id}/distribution")
async def distribute_income(income_id: UUID, session: Transaction, _: Payer, now: Now) -> IncomeRead:
    """Share out an undistributed income now that its township has registered households (差异化分配)."""
    return IncomeRead(**(await distributions.distribute_pending_income(session, income_id, now=now)).model_dump())

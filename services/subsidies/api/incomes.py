"""Routes of project incomes received (收益) and their distribution by hand."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from services.subsidies.api.deps import Payer, Reader
from services.subsidies.domain import distributions
from services.subsidies.models import IncomeStatus
from services.subsidies.schemas.distributions import IncomeRead
from shared.api.clock import Now
from shared.api.pagination import Page, Paging, datetime_key, uuid_key
from shared.http import Transaction

router = APIRouter(prefix="/incomes", tags=["incomes"])


@router.get("")
async def list_incomes(
    session: Transaction,
    _: Reader,
    paging: Paging,
    income_status: Annotated[IncomeStatus | None, Query(alias="status")] = None,
    project_id: UUID | None = None,
) -> Page[IncomeRead]:
    """List the project incomes received (项目收益), the newest first

    `undistributed` ones found no registered household in the project's township when they arrived and wait for
    the finance office. Pass `next_cursor` on for the next page.
    """
    rows = await distributions.list_incomes(
        session,
        status=income_status,
        project_id=project_id,
        after=paging.after(datetime_key, uuid_key),
        limit=paging.limit + 1,
    )
    items, next_cursor = paging.page(rows, lambda r: [r.received_at.isoformat(), str(r.income_id)])
    return Page(items=[IncomeRead(**r.model_dump()) for r in items], next_cursor=next_cursor)


@router.post("/{income_id}/distribution")
async def distribute_income(income_id: UUID, session: Transaction, _: Payer, now: Now) -> IncomeRead:
    """Share out an undistributed project income among its township's households (差异化分配)

    For an income that found no registered household when it arrived: shares it by members, in whole fen, among
    the households its township has now, and publishes `ProjectIncomeAllocated` for each share on
    `subsidies.events`. Refused (409): an income already distributed, or a township that still has no household.
    """
    return IncomeRead(**(await distributions.distribute_pending_income(session, income_id, now=now)).model_dump())

"""Routes of project income shared out to households (差异化分配)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from services.subsidies.api.deps import Reader
from services.subsidies.domain import distributions
from services.subsidies.schemas.distributions import AllocationRead
from shared.api.pagination import Page, Paging, datetime_key, uuid_key
from shared.http import Transaction

router = APIRouter(prefix="/allocations", tags=["allocations"])


@router.get("")
async def list_allocations(
    session: Transaction, _: Reader, paging: Paging, household_id: UUID | None = None, income_id: UUID | None = None
) -> Page[AllocationRead]:
    """List households' shares of project income (收益分配), the newest first

    Each share names the income, the project and the member count it was based on; filter by household or by
    income. Pass `next_cursor` on for the next page.
    """
    rows = await distributions.list_allocations(
        session,
        household_id=household_id,
        income_id=income_id,
        after=paging.after(datetime_key, uuid_key),
        limit=paging.limit + 1,
    )
    items, next_cursor = paging.page(rows, lambda a: [a.allocated_at.isoformat(), str(a.id)])
    return Page(items=[AllocationRead(**a.model_dump()) for a in items], next_cursor=next_cursor)

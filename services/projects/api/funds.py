"""Routes of funds (资金): funding lines (资金指标) and the year's totals by source."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from services.projects.api.deps import AreaFilter, FundKeeper, Reader
from services.projects.domain import funds
from services.projects.models import FundAllocation
from services.projects.rules.funds import Money
from services.projects.rules.vocabulary import FundSource
from services.projects.schemas.funds import (
    AllocationCreate,
    AllocationRead,
    FundTotalsRead,
    MoneyRead,
    SourceTotals,
)
from shared.api.clock import Now
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, datetime_key, int_key, uuid_key
from shared.http import Reading, Transaction
from shared.timeutil import CALENDAR_YEARS

router = APIRouter(tags=["funds"])
FIRST_YEAR, LAST_YEAR = CALENDAR_YEARS.start, CALENDAR_YEARS.stop - 1


def _allocation(allocation: FundAllocation, drawn_fen: int, spent_fen: int) -> AllocationRead:
    return AllocationRead(
        **allocation.model_dump(),
        drawn_fen=drawn_fen,
        spent_fen=spent_fen,
        available_fen=allocation.amount_fen - drawn_fen,
    )


@router.post("/fund-allocations", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def record_allocation(
    body: AllocationCreate, session: Transaction, actor: FundKeeper, idem: Idempotency, now: Now
) -> AllocationRead:
    """Record a funding line allocated for a year (资金下达: 中央, 省, 市, 区级专项扶贫资金, 配套)

    Projects draw on it (`POST /v1/projects/{id}/funding`), never more in all than its amount.

    Refused: an amount that is not a positive whole number of fen, an unknown source, free text holding an ID-card
    or bank account number (422).
    """
    if (earlier := await idem.replay(body, AllocationRead)) is not None:
        return earlier
    allocation = await funds.record_allocation(session, body, actor=actor, now=now)
    return idem.remember(_allocation(allocation, 0, 0))


@router.get("/fund-allocations")
async def list_allocations(
    session: Reading,
    _: Reader,
    paging: Paging,
    year: Annotated[int | None, Query(ge=FIRST_YEAR, le=LAST_YEAR)] = None,
    source: FundSource | None = None,
) -> Page[AllocationRead]:
    """List funding lines, the latest year first, with what projects drew on each and spent

    Filter by year and source. Pass `next_cursor` on for the next page.
    """
    rows = await funds.allocations_page(
        session,
        year=year,
        source=source,
        after=paging.after(int_key, datetime_key, uuid_key),
        limit=paging.limit + 1,
    )
    items, next_cursor = paging.page(rows, lambda r: [r[0].year, r[0].recorded_at.isoformat(), str(r[0].id)])
    return Page(items=[_allocation(*row) for row in items], next_cursor=next_cursor)


def _money(money: Money) -> MoneyRead:
    return MoneyRead(allocated_fen=money.allocated_fen, drawn_fen=money.drawn_fen, spent_fen=money.spent_fen)


@router.get("/funds/totals")
async def fund_totals(
    session: Reading,
    actor: Reader,
    year: Annotated[int, Query(ge=FIRST_YEAR, le=LAST_YEAR)],
    area_code: AreaFilter = None,
) -> FundTotalsRead:
    """A year's project funds by source: allocated, drawn by projects and spent (资金来源 / 已支出)

    The report's figures: 区级专项扶贫资金 (`district`), 上级资金 (`higher_levels`: central, provincial and municipal)
    and their sum (`total`). The lines are the district's, so `allocated_fen` is district-wide whatever the area;
    with `area_code` (a township officer or village cadre: their own area by default), only the draws and spending
    of projects within it are counted.
    """
    scope = area_code or (actor.area if actor.is_area_scoped else None) or ""
    if actor.is_area_scoped:
        actor.ensure_reach(scope)
    totals = await funds.year_totals(session, year=year, area_prefix=scope)
    return FundTotalsRead(
        year=year,
        area_code=scope or None,
        sources=[
            SourceTotals(source=source, **_money(money).model_dump()) for source, money in totals.by_source.items()
        ],
        higher_levels=_money(totals.higher_levels),
        total=_money(totals.total),
    )

"""Funding lines (资金指标) and the district's totals by source (资金来源), each summed in SQL (GROUP BY), never by
loading rows."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Select, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects.models import FundAllocation, Project, ProjectFunding, ProjectSpending
from services.projects.rules import funds
from services.projects.rules.vocabulary import FundSource
from services.projects.schemas.funds import AllocationCreate
from shared.auth import Principal
from shared.db import keyset


def total(column: Any) -> Any:
    """SUM of a fen column as a whole number on every database (PostgreSQL sums BIGINT as NUMERIC), 0 for none."""
    return cast(func.coalesce(func.sum(column), 0), BigInteger)


async def record_allocation(
    session: AsyncSession, data: AllocationCreate, *, actor: Principal, now: datetime
) -> FundAllocation:
    """A funding line allocated for a year (资金下达)."""
    allocation = FundAllocation(**data.model_dump(), recorded_by=actor.subject, recorded_at=now)
    session.add(allocation)
    await session.flush()
    return allocation


async def allocations_page(
    session: AsyncSession,
    *,
    year: int | None,
    source: FundSource | None,
    after: tuple[int, datetime, Any] | None,
    limit: int,
) -> list[tuple[FundAllocation, int, int]]:
    """Funding lines, the latest year first (then the latest recorded), each with what projects drew on it and
    spent from it."""
    drawn = (
        select(col(ProjectFunding.allocation_id).label("allocation_id"), total(ProjectFunding.amount_fen).label("fen"))
        .group_by(col(ProjectFunding.allocation_id))
        .subquery()
    )
    spent = (
        select(col(ProjectFunding.allocation_id).label("allocation_id"), total(ProjectSpending.amount_fen).label("fen"))
        .join(ProjectSpending, col(ProjectSpending.funding_id) == col(ProjectFunding.id))
        .group_by(col(ProjectFunding.allocation_id))
        .subquery()
    )
    stmt = (
        select(FundAllocation, func.coalesce(drawn.c.fen, 0), func.coalesce(spent.c.fen, 0))
        .outerjoin(drawn, drawn.c.allocation_id == col(FundAllocation.id))
        .outerjoin(spent, spent.c.allocation_id == col(FundAllocation.id))
    )
    if year is not None:
        stmt = stmt.where(col(FundAllocation.year) == year)
    if source is not None:
        stmt = stmt.where(col(FundAllocation.source) == source.value)
    order = [col(FundAllocation.year), col(FundAllocation.recorded_at), col(FundAllocation.id)]
    rows = await session.execute(keyset(stmt, order, after, limit=limit, descending=True))
    return [(allocation, int(d), int(s)) for allocation, d, s in rows.all()]


async def year_totals(
    session: AsyncSession, *, year: int, area_prefix: str, spent_by: date | None = None
) -> funds.Totals:
    """A year's funds by source: its lines (district-wide), and what the projects within `area_prefix` drew on them
    and spent from them (on or before `spent_by` when given: the report's 截至)."""
    source = col(FundAllocation.source)
    allocated = select(source, total(FundAllocation.amount_fen)).where(col(FundAllocation.year) == year)
    drawn = (
        select(source, total(ProjectFunding.amount_fen))
        .join(FundAllocation, col(FundAllocation.id) == col(ProjectFunding.allocation_id))
        .where(col(FundAllocation.year) == year)
    )
    spent = (
        select(source, total(ProjectSpending.amount_fen))
        .join(ProjectFunding, col(ProjectFunding.id) == col(ProjectSpending.funding_id))
        .join(FundAllocation, col(FundAllocation.id) == col(ProjectFunding.allocation_id))
        .where(col(FundAllocation.year) == year)
    )
    if spent_by is not None:
        spent = spent.where(col(ProjectSpending.spent_on) <= spent_by)
    if area_prefix:
        drawn, spent = _within(drawn, area_prefix), _within(spent, area_prefix)
    return funds.totals(
        allocated=await _by_source(session, allocated),
        drawn=await _by_source(session, drawn),
        spent=await _by_source(session, spent),
    )


def _within(stmt: Select[Any], area_prefix: str) -> Select[Any]:
    return stmt.join(Project, col(Project.id) == col(ProjectFunding.project_id)).where(
        col(Project.area_code).startswith(area_prefix)
    )


async def _by_source(session: AsyncSession, stmt: Select[Any]) -> dict[str, int]:
    rows = await session.execute(stmt.group_by(col(FundAllocation.source)))
    return {str(source): int(fen) for source, fen in rows.all()}

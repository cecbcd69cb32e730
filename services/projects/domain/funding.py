"""A project's draws on funding lines and its spending (支出) against them. Never past the money: a draw locks its
line's row, and spending its draw's, so two requests at once cannot both take the last of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar
from uuid import UUID

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects import events
from services.projects.domain.dates import refused
from services.projects.domain.funds import total
from services.projects.models import FundAllocation, Project, ProjectFunding, ProjectSpending
from services.projects.rules import dates, funds
from services.projects.rules.lifecycle import ensure_status
from services.projects.schemas.funds import FundingCreate, SpendingCreate
from shared.auth import Principal
from shared.contracts.projects import FundSource, ProjectSpendingRecorded
from shared.db import keyset

T = TypeVar("T")


@dataclass(frozen=True)
class FundingLine:
    """A project's draw with the line it is on and what the project spent from it."""

    funding: ProjectFunding
    allocation: FundAllocation
    spent_fen: int


async def draw(
    session: AsyncSession, project: Project, data: FundingCreate, *, actor: Principal, now: datetime
) -> tuple[FundingLine, bool]:
    """Set the project's draw on a line to `data.amount_fen` (the first draw, or a new total); True when the draw
    is new. The line's row is locked first: the draws of two projects at once are summed one after the other."""
    allocation = await _locked(session, select(FundAllocation).where(col(FundAllocation.id) == data.allocation_id))
    if allocation is None:
        raise refused("allocation_id", "no funding line has this id", "unknown_allocation")
    ensure_status(project.status, funds.DRAWING, doing="draw on a funding line")
    funding = await _locked(
        session,
        select(ProjectFunding).where(
            col(ProjectFunding.project_id) == project.id, col(ProjectFunding.allocation_id) == allocation.id
        ),
    )
    others = select(total(ProjectFunding.amount_fen)).where(
        col(ProjectFunding.allocation_id) == allocation.id, col(ProjectFunding.project_id) != project.id
    )
    spent = await _spent(session, funding.id) if funding else 0
    funds.ensure_draw_fits(
        line_fen=allocation.amount_fen,
        drawn_by_others_fen=int(await session.scalar(others) or 0),
        new_total_fen=data.amount_fen,
        spent_fen=spent,
    )
    if funding is not None:
        funding.amount_fen, funding.recorded_by, funding.recorded_at = data.amount_fen, actor.subject, now
        return FundingLine(funding, allocation, spent), False
    funding = ProjectFunding(
        project_id=project.id,
        allocation_id=allocation.id,
        amount_fen=data.amount_fen,
        recorded_by=actor.subject,
        recorded_at=now,
    )
    session.add(funding)
    await session.flush()
    return FundingLine(funding, allocation, 0), True


async def spend(
    session: AsyncSession, project: Project, data: SpendingCreate, *, actor: Principal, today: date, now: datetime
) -> ProjectSpending:
    """Record money the project spent against one of its draws; the draw's row is locked while it is summed.
    Publishes `ProjectSpendingRecorded` with the line's source and year."""
    if dates.in_future(data.spent_on, today=today):
        raise refused("spent_on", "money is recorded once spent, not before", "in_future")
    if dates.before_start(data.spent_on, started_on=project.started_on):
        raise refused("spent_on", "before the project's start", "before_project_start")
    funding = await _locked(
        session,
        select(ProjectFunding).where(
            col(ProjectFunding.id) == data.funding_id, col(ProjectFunding.project_id) == project.id
        ),
    )
    if funding is None:
        raise refused("funding_id", "not one of this project's draws", "unknown_funding")
    ensure_status(project.status, funds.SPENDING, doing="spend")
    funds.ensure_spending_fits(
        drawn_fen=funding.amount_fen, spent_fen=await _spent(session, funding.id), amount_fen=data.amount_fen
    )
    spending = ProjectSpending(**data.model_dump(), project_id=project.id, recorded_by=actor.subject, recorded_at=now)
    session.add(spending)
    await session.flush()
    await _publish_spending(session, project, funding, spending)
    return spending


async def _publish_spending(
    session: AsyncSession, project: Project, funding: ProjectFunding, spending: ProjectSpending
) -> None:
    line = await session.get(FundAllocation, funding.allocation_id)
    assert line is not None  # a draw is made on a line that exists, and lines are never deleted
    events.publish(
        session,
        ProjectSpendingRecorded(
            project_id=project.id,
            spending_id=spending.id,
            funding_id=funding.id,
            allocation_id=line.id,
            source=FundSource(line.source),
            year=line.year,
            amount_fen=spending.amount_fen,
            spent_on=spending.spent_on,
            area_code=project.area_code,
        ),
    )


async def funding_page(
    session: AsyncSession, project: Project, *, after: tuple[int, UUID] | None, limit: int
) -> list[FundingLine]:
    """The project's draws by their line's year, each with what it spent from it."""
    spent = (
        select(col(ProjectSpending.funding_id).label("funding_id"), total(ProjectSpending.amount_fen).label("fen"))
        .where(col(ProjectSpending.project_id) == project.id)
        .group_by(col(ProjectSpending.funding_id))
        .subquery()
    )
    stmt = (
        select(ProjectFunding, FundAllocation, func.coalesce(spent.c.fen, 0))
        .join(FundAllocation, col(FundAllocation.id) == col(ProjectFunding.allocation_id))
        .outerjoin(spent, spent.c.funding_id == col(ProjectFunding.id))
        .where(col(ProjectFunding.project_id) == project.id)
    )
    rows = await session.execute(keyset(stmt, [col(FundAllocation.year), col(ProjectFunding.id)], after, limit=limit))
    return [FundingLine(funding, allocation, int(fen)) for funding, allocation, fen in rows.all()]


async def spending_page(
    session: AsyncSession, project: Project, *, after: tuple[date, UUID] | None, limit: int
) -> list[ProjectSpending]:
    """The project's spending, the latest first."""
    stmt = select(ProjectSpending).where(col(ProjectSpending.project_id) == project.id)
    order = [col(ProjectSpending.spent_on), col(ProjectSpending.id)]
    return list((await session.scalars(keyset(stmt, order, after, limit=limit, descending=True))).all())


async def draws_of(session: AsyncSession, project_id: UUID) -> int:
    """How many lines the project draws on."""
    found = await session.scalar(select(func.count()).where(col(ProjectFunding.project_id) == project_id))
    return int(found or 0)


async def _locked(session: AsyncSession, stmt: Select[tuple[T]]) -> T | None:
    """The one row `stmt` selects, locked (FOR UPDATE on PostgreSQL) and read afresh, or None."""
    found = await session.scalars(stmt.with_for_update().execution_options(populate_existing=True))
    return found.one_or_none()


async def _spent(session: AsyncSession, funding_id: UUID) -> int:
    found = await session.scalar(
        select(total(ProjectSpending.amount_fen)).where(col(ProjectSpending.funding_id) == funding_id)
    )
    return int(found or 0)

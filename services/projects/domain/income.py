"""A project's income (收益): recorded once per period, then distributed to poor households by subsidies."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects import events
from services.projects.domain.dates import refused
from services.projects.models import Project, ProjectIncome
from services.projects.rules import dates
from services.projects.schemas.income import IncomeCreate
from shared.auth import Principal
from shared.contracts.projects import ProjectIncomeRecorded
from shared.errors import Conflict


async def record_income(
    session: AsyncSession, project: Project, data: IncomeCreate, *, actor: Principal, today: date, now: datetime
) -> ProjectIncome:
    """Record a project's income for a period, once."""
    if not dates.period_begun(data.period, today=today):
        raise refused("period", "income cannot be recorded for a period that has not begun", "period_not_begun")
    if dates.period_before_start(data.period, started_on=project.started_on):
        raise refused("period", "before the project's start", "before_project_start")
    income = ProjectIncome(
        project_id=project.id,
        period=data.period,
        amount_fen=data.amount_fen,
        recorded_by=actor.subject,
        recorded_at=now,
    )
    session.add(income)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("Income for this project and period is already recorded.") from exc
    events.publish(
        session,
        ProjectIncomeRecorded(
            project_id=project.id, income_id=income.id, period=income.period, amount_fen=income.amount_fen
        ),
    )
    return income


async def income_page(
    session: AsyncSession, project: Project, *, before_period: str | None, limit: int
) -> list[ProjectIncome]:
    """The project's income, the latest period first (one record per period), before the cursor's period."""
    stmt = select(ProjectIncome).where(col(ProjectIncome.project_id) == project.id)
    if before_period is not None:
        stmt = stmt.where(col(ProjectIncome.period) < before_period)
    rows = await session.scalars(stmt.order_by(col(ProjectIncome.period).desc()).limit(limit))
    return list(rows.all())

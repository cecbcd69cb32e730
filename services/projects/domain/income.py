"""An asset's income (收益): recorded once per asset and month; it belongs to the asset's owner and is shared among
the owner's poor households by a distribution plan (`plans.py`), never automatically."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects import events
from services.projects.domain.assets import ensure_earning
from services.projects.domain.dates import refused
from services.projects.models import DistributionPlan, Project, ProjectAsset, ProjectIncome
from services.projects.rules import dates
from services.projects.rules.vocabulary import PlanStatus
from services.projects.schemas.income import IncomeCreate
from shared.auth import Principal
from shared.contracts.projects import ProjectIncomeRecorded
from shared.db import keyset
from shared.errors import Conflict


@dataclass(frozen=True)
class PlannedIncome:
    """An income and its live distribution plan (the one not rejected), if any."""

    income: ProjectIncome
    plan_id: UUID | None = None
    plan_status: str | None = None

    def fields(self) -> dict[str, Any]:
        plan = None if self.plan_id is None else {"plan_id": self.plan_id, "status": self.plan_status}
        return {**self.income.model_dump(), "distribution": plan}


async def record_income(
    session: AsyncSession, project: Project, data: IncomeCreate, *, actor: Principal, today: date, now: datetime
) -> ProjectIncome:
    """Record an asset's income for a month, once, and publish `ProjectIncomeRecorded`."""
    ensure_earning(project)
    asset = await session.get(ProjectAsset, data.asset_id)
    if asset is None or asset.project_id != project.id:
        raise refused("asset_id", "not an asset of this project", "not_an_asset")
    if not dates.period_begun(data.period, today=today):
        raise refused("period", "income cannot be recorded for a period that has not begun", "period_not_begun")
    if dates.period_before_start(data.period, started_on=project.started_on):
        raise refused("period", "before the project's start", "before_project_start")
    received_on = data.received_on or today
    if dates.in_future(received_on, today=today):
        raise refused("received_on", "income is recorded once it has arrived", "in_future")
    income = ProjectIncome(
        project_id=project.id,
        asset_id=asset.id,
        period=data.period,
        amount_fen=data.amount_fen,
        received_on=received_on,
        recorded_by=actor.subject,
        recorded_at=now,
    )
    session.add(income)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("Income for this asset and month is already recorded.", code="income_recorded") from exc
    events.publish(
        session,
        ProjectIncomeRecorded(
            project_id=project.id,
            income_id=income.id,
            period=income.period,
            amount_fen=income.amount_fen,
            asset_id=asset.id,
        ),
    )
    return income


async def income_page(
    session: AsyncSession, project: Project, *, after: tuple[Any, ...] | None, limit: int
) -> list[PlannedIncome]:
    """The project's income, the latest month first (then by id, descending), each with its live plan, after the
    cursor's (period, id)."""
    live = and_(
        col(DistributionPlan.income_id) == col(ProjectIncome.id),
        col(DistributionPlan.status) != PlanStatus.REJECTED.value,
    )
    stmt = (
        select(ProjectIncome, col(DistributionPlan.id), col(DistributionPlan.status))
        .outerjoin(DistributionPlan, live)
        .where(col(ProjectIncome.project_id) == project.id)
    )
    stmt = keyset(stmt, (col(ProjectIncome.period), col(ProjectIncome.id)), after, limit=limit, descending=True)
    return [PlannedIncome(income, plan_id, status) for income, plan_id, status in (await session.execute(stmt)).all()]

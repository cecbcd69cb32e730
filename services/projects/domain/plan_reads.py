"""Reading distribution plans (收益分配方案): one plan, its set-asides and shares, the plans of an area, what a
household got from plans."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects.models import DistributionPlan, PlanSetAside, PlanShare, RollHousehold
from services.projects.rules.vocabulary import PlanStatus
from shared.auth import Principal
from shared.db import keyset
from shared.errors import NotFound


async def get_plan(session: AsyncSession, plan_id: UUID, *, actor: Principal) -> DistributionPlan:
    """A plan within the actor's reach, or NotFound/Forbidden."""
    plan = await session.get(DistributionPlan, plan_id)
    if plan is None:
        raise NotFound("No distribution plan has this id.")
    actor.ensure_reach(plan.owner_area_code)
    return plan


async def set_asides_of(session: AsyncSession, plan_id: UUID) -> list[PlanSetAside]:
    stmt = select(PlanSetAside).where(col(PlanSetAside.plan_id) == plan_id).order_by(col(PlanSetAside.purpose))
    return list((await session.scalars(stmt)).all())


async def plan_page(
    session: AsyncSession,
    *,
    area_prefix: str,
    status: PlanStatus | None,
    project_id: UUID | None,
    after: tuple[Any, ...] | None,
    limit: int,
) -> list[DistributionPlan]:
    """Plans of owners within an area, the latest prepared first, after the cursor's (prepared_at, id)."""
    stmt = select(DistributionPlan).where(col(DistributionPlan.owner_area_code).startswith(area_prefix))
    if status is not None:
        stmt = stmt.where(col(DistributionPlan.status) == status.value)
    if project_id is not None:
        stmt = stmt.where(col(DistributionPlan.project_id) == project_id)
    key = (col(DistributionPlan.prepared_at), col(DistributionPlan.id))
    return list((await session.scalars(keyset(stmt, key, after, limit=limit, descending=True))).all())


async def share_page(
    session: AsyncSession, plan: DistributionPlan, *, after: tuple[Any, ...] | None, limit: int
) -> list[PlanShare]:
    """A plan's shares by household id, after the cursor's household."""
    stmt = select(PlanShare).where(col(PlanShare.plan_id) == plan.id)
    return list((await session.scalars(keyset(stmt, (col(PlanShare.household_id),), after, limit=limit))).all())


async def household_share_page(
    session: AsyncSession, household_id: UUID, *, actor: Principal, after: tuple[Any, ...] | None, limit: int
) -> list[tuple[PlanShare, DistributionPlan]]:
    """A household's shares of plans not rejected, the latest month first, after the cursor's (period, plan)."""
    household = await session.get(RollHousehold, household_id)
    if household is None:
        raise NotFound("No household on the roll has this id.")
    actor.ensure_reach(household.area_code)
    stmt = (
        select(PlanShare, DistributionPlan)
        .join(DistributionPlan, col(DistributionPlan.id) == col(PlanShare.plan_id))
        .where(
            col(PlanShare.household_id) == household_id,
            col(DistributionPlan.status) != PlanStatus.REJECTED.value,
        )
    )
    key = (col(DistributionPlan.period), col(DistributionPlan.id))
    rows = (await session.execute(keyset(stmt, key, after, limit=limit, descending=True))).all()
    return [(share, plan) for share, plan in rows]

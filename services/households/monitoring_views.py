"""Reading monitoring episodes (防止返贫监测): a household's, or a page of them within the caller's reach."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.access import scope_clauses
from services.households.models import Household, MonitoringEpisode, MonitoringMeasure, RiskFlag
from shared.auth import Principal


async def details(session: AsyncSession, episode: MonitoringEpisode) -> tuple[list[RiskFlag], list[MonitoringMeasure]]:
    """The episode's flags and measures, oldest first."""
    flags = await session.scalars(
        select(RiskFlag).where(col(RiskFlag.episode_id) == episode.id).order_by(col(RiskFlag.raised_on))
    )
    measures = await session.scalars(
        select(MonitoringMeasure)
        .where(col(MonitoringMeasure.episode_id) == episode.id)
        .order_by(col(MonitoringMeasure.taken_on))
    )
    return list(flags.all()), list(measures.all())


async def episodes_of(session: AsyncSession, household_id: UUID) -> list[MonitoringEpisode]:
    rows = await session.scalars(
        select(MonitoringEpisode)
        .where(col(MonitoringEpisode.household_id) == household_id)
        .order_by(col(MonitoringEpisode.opened_on))
    )
    return list(rows.all())


async def episodes_page(
    session: AsyncSession,
    *,
    actor: Principal,
    area_code: str | None,
    status: str | None,
    after: tuple[date, UUID] | None,
    limit: int,
) -> list[MonitoringEpisode]:
    """Episodes in (opened_on, id) order after the cursor key, within the actor's reach."""
    if area_code and actor.is_area_scoped:
        actor.ensure_reach(area_code)
    stmt = (
        select(MonitoringEpisode)
        .join(Household, col(Household.id) == col(MonitoringEpisode.household_id))
        .where(*scope_clauses(actor))
    )
    if area_code:
        stmt = stmt.where(col(Household.area_code).startswith(area_code))
    if status:
        stmt = stmt.where(col(MonitoringEpisode.status) == status)
    if after is not None:
        opened, last_id = after
        stmt = stmt.where(
            or_(
                col(MonitoringEpisode.opened_on) > opened,
                and_(col(MonitoringEpisode.opened_on) == opened, col(MonitoringEpisode.id) > last_id),
            )
        )
    stmt = stmt.order_by(col(MonitoringEpisode.opened_on), col(MonitoringEpisode.id)).limit(limit)
    return list((await session.scalars(stmt)).all())

"""Routes for relapse-risk monitoring (防止返贫监测): flags, episodes, measures, closing decisions."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from fastapi import APIRouter, status
from sqlalchemy.ext.asyncio import AsyncSession

from services.households.api.deps import Approver, AreaFilter, Helper, Reader, Visitor
from services.households.domain import monitoring
from services.households.domain.access import reachable_household
from services.households.models import Household, MonitoringEpisode
from services.households.schemas.monitoring import (
    EpisodeClose,
    EpisodeRead,
    MeasureCreate,
    MeasureRead,
    RiskFlagCreate,
    RiskFlagRead,
)
from shared.api.clock import Today
from shared.api.pagination import Page, Paging, date_key, uuid_key
from shared.auth import Principal
from shared.http import Transaction

router = APIRouter(tags=["monitoring"])


async def _episode_read(session: AsyncSession, episode: MonitoringEpisode) -> EpisodeRead:
    flags, measures = await monitoring.details(session, episode)
    return EpisodeRead(
        **episode.model_dump(),
        flags=[RiskFlagRead(**f.model_dump()) for f in flags],
        measures=[MeasureRead(**m.model_dump()) for m in measures],
    )


async def _locked_episode(
    session: AsyncSession, episode_id: UUID, actor: Principal
) -> tuple[Household, MonitoringEpisode]:
    """The episode's household locked, then the episode read again, so two closes (or a close and a measure)
    at once are judged one after the other on what the first committed."""
    household_id = (await monitoring.episode_for(session, episode_id)).household_id
    household = await reachable_household(session, household_id, actor, for_update=True)
    return household, await monitoring.episode_for(session, episode_id)


@router.post("/households/{household_id}/risk-flags", status_code=status.HTTP_201_CREATED)
async def raise_flag(
    household_id: UUID, body: RiskFlagCreate, session: Transaction, actor: Visitor, today: Today
) -> EpisodeRead:
    """Flag relapse risk (a disaster, loss of work...): opens a monitoring episode or joins the open one."""
    household = await reachable_household(session, household_id, actor, for_update=True)
    flag = await monitoring.raise_flag(
        session, household, kind=body.kind, detail=body.detail, on=body.raised_on, today=today, actor=actor.subject
    )
    return await _episode_read(session, await monitoring.episode_for(session, flag.episode_id))


@router.get("/households/{household_id}/monitoring-episodes")
async def household_episodes(household_id: UUID, session: Transaction, actor: Reader) -> list[EpisodeRead]:
    household = await reachable_household(session, household_id, actor)
    return [await _episode_read(session, e) for e in await monitoring.episodes_of(session, household.id)]


@router.get("/monitoring-episodes")
async def list_episodes(
    session: Transaction,
    actor: Reader,
    area_code: AreaFilter,
    paging: Paging,
    status: Literal["open", "closed"] | None = None,
) -> Page[EpisodeRead]:
    """Monitoring episodes within the caller's reach, oldest first; pass `next_cursor` on."""
    after = paging.after(date_key, uuid_key)
    rows = await monitoring.episodes_page(
        session, actor=actor, area_code=area_code, status=status, after=after, limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda e: [e.opened_on.isoformat(), str(e.id)])
    return Page(items=[await _episode_read(session, e) for e in items], next_cursor=next_cursor)


@router.post("/monitoring-episodes/{episode_id}/measures", status_code=status.HTTP_201_CREATED)
async def add_measure(
    episode_id: UUID, body: MeasureCreate, session: Transaction, actor: Helper, today: Today
) -> EpisodeRead:
    """Record a help measure (帮扶措施) in an open episode."""
    household, episode = await _locked_episode(session, episode_id, actor)
    monitoring.add_measure(
        session,
        household,
        episode,
        kind=body.kind,
        description=body.description,
        taken_on=body.taken_on,
        today=today,
        actor=actor.subject,
    )
    return await _episode_read(session, episode)


@router.post("/monitoring-episodes/{episode_id}/close")
async def close_episode(
    episode_id: UUID, body: EpisodeClose, session: Transaction, actor: Approver, today: Today
) -> EpisodeRead:
    """Close an episode: risk eliminated (风险消除, with evidence and a measure) or relapsed (返贫)."""
    household, episode = await _locked_episode(session, episode_id, actor)
    await monitoring.close_episode(
        session,
        household,
        episode,
        decision=body.decision,
        evidence=body.evidence,
        closed_on=body.closed_on,
        today=today,
        actor=actor.subject,
    )
    return await _episode_read(session, episode)

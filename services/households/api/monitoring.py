"""Routes for relapse-risk monitoring (防止返贫监测): flags, episodes, measures, closing decisions."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status
from sqlalchemy.ext.asyncio import AsyncSession

from services.households.api.deps import HOUSEHOLD_REACH, Approver, AreaFilter, Helper, Reader, Visitor
from services.households.domain import monitoring
from services.households.domain.access import reachable_household
from services.households.models import Household, MonitoringEpisode
from services.households.rules.vocabulary import EpisodeStatus
from services.households.schemas.monitoring import (
    EpisodeClose,
    EpisodeRead,
    MeasureCreate,
    MeasureRead,
    RiskFlagCreate,
    RiskFlagRead,
)
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, date_key, uuid_key
from shared.auth import Principal
from shared.http import Reading, Transaction

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


@router.post(
    "/households/{household_id}/risk-flags",
    status_code=status.HTTP_201_CREATED,
    responses=REPLAY_RESPONSE,
    openapi_extra=HOUSEHOLD_REACH,
)
async def raise_flag(
    household_id: UUID,
    body: RiskFlagCreate,
    session: Transaction,
    actor: Visitor,
    now: Now,
    today: Today,
    idem: Idempotency,
) -> EpisodeRead:
    """Flag a household's relapse risk (防止返贫监测): a disaster or a loss of work

    The flag joins the household's open monitoring episode (once per kind) or opens one, which makes an exited
    household `monitored`; the episode is returned. Publishes `RiskFlagRaised` (with `MonitoringEpisodeOpened`
    and `HouseholdStatusChanged` when it opens one) and a `HouseholdProblemFound` for audit. Income, medical-cost
    and disability flags are raised by the rules when those facts are recorded.
    """
    household = await reachable_household(session, household_id, actor, for_update=True)
    if (earlier := await idem.replay(body, EpisodeRead)) is not None:
        return earlier
    flag = await monitoring.raise_flag(
        session,
        household,
        kind=body.kind,
        detail=body.detail,
        on=body.raised_on,
        now=now,
        today=today,
        actor=actor.subject,
    )
    return idem.remember(await _episode_read(session, await monitoring.episode_for(session, flag.episode_id)))


@router.get("/households/{household_id}/monitoring-episodes", openapi_extra=HOUSEHOLD_REACH)
async def household_episodes(household_id: UUID, session: Reading, actor: Reader, paging: Paging) -> Page[EpisodeRead]:
    """List the household's monitoring episodes (监测记录)

    Oldest first, each with its flags, help measures and closing decision.
    """
    household = await reachable_household(session, household_id, actor)
    after = paging.after(date_key, uuid_key)
    rows = await monitoring.episodes_of(session, household.id, after=after, limit=paging.limit + 1)
    items, next_cursor = paging.page(rows, lambda e: [e.opened_on.isoformat(), str(e.id)])
    return Page(items=[await _episode_read(session, e) for e in items], next_cursor=next_cursor)


@router.get("/monitoring-episodes", openapi_extra=HOUSEHOLD_REACH)
async def list_episodes(
    session: Reading,
    actor: Reader,
    area_code: AreaFilter,
    paging: Paging,
    status: EpisodeStatus | None = None,
) -> Page[EpisodeRead]:
    """List monitoring episodes (防止返贫监测) across households

    Within the caller's reach, optionally in an area and open or closed, oldest first, each with its flags,
    measures and decision.
    """
    after = paging.after(date_key, uuid_key)
    rows = await monitoring.episodes_page(
        session, actor=actor, area_code=area_code, status=status, after=after, limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda e: [e.opened_on.isoformat(), str(e.id)])
    return Page(items=[await _episode_read(session, e) for e in items], next_cursor=next_cursor)


@router.post(
    "/monitoring-episodes/{episode_id}/measures",
    status_code=status.HTTP_201_CREATED,
    responses=REPLAY_RESPONSE,
    openapi_extra=HOUSEHOLD_REACH,
)
async def add_measure(
    episode_id: UUID,
    body: MeasureCreate,
    session: Transaction,
    actor: Helper,
    now: Now,
    today: Today,
    idem: Idempotency,
) -> EpisodeRead:
    """Record a help measure (帮扶措施) in a monitoring episode

    The episode must be open (409 otherwise), hold fewer than 200 measures (409 otherwise) and the measure not
    taken before it opened; the episode is returned. Publishes `MonitoringMeasureTaken`. Closing an episode as
    risk eliminated needs a measure.
    """
    household, episode = await _locked_episode(session, episode_id, actor)
    if (earlier := await idem.replay(body, EpisodeRead)) is not None:
        return earlier
    await monitoring.add_measure(
        session,
        household,
        episode,
        kind=body.kind,
        description=body.description,
        taken_on=body.taken_on,
        now=now,
        today=today,
        actor=actor.subject,
    )
    return idem.remember(await _episode_read(session, episode))


@router.post("/monitoring-episodes/{episode_id}/close")
async def close_episode(
    episode_id: UUID, body: EpisodeClose, session: Transaction, actor: Approver, now: Now, today: Today
) -> EpisodeRead:
    """Close a monitoring episode: risk eliminated (风险消除) or relapsed (返贫)

    Risk eliminated needs at least one measure and, for an income flag, this year's per-capita income back at or
    above line + margin; it returns a `monitored` household to the status it had before. Relapsed needs a gap
    and makes the household `relapsed`. A closed episode is not closed again (409). Publishes
    `MonitoringEpisodeClosed` and the status change.
    """
    household, episode = await _locked_episode(session, episode_id, actor)
    await monitoring.close_episode(
        session,
        household,
        episode,
        decision=body.decision,
        evidence=body.evidence,
        closed_on=body.closed_on,
        now=now,
        today=today,
        actor=actor.subject,
    )
    return await _episode_read(session, episode)

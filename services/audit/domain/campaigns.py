"""Inspection campaigns (检查): self-assessment rounds (自查评估), targeted supervision of a township (挂牌督战),
follow-up checks (回头看) and department verifications; findings and checks may name the campaign they came from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.audit.domain.coverage import count_earlier_visits
from services.audit.events import publish
from services.audit.models import Finding, InspectionCampaign
from services.audit.rules.campaigns import campaign_covers, check_campaign_dates, check_campaign_scope, check_running
from services.audit.rules.periods import district_day
from shared.api.pagination import Key
from shared.auth import Principal
from shared.contracts.audit import CampaignKind, InspectionCampaignOpened, ScopeLevel, SubjectKind
from shared.db import keyset
from shared.errors import Forbidden, NotFound, RuleViolation


@dataclass(frozen=True)
class CampaignPlan:
    """What the district office sets up: kind, scope, round, dates and teams."""

    name: str
    kind: CampaignKind
    scope_level: ScopeLevel
    scope_code: str
    round: int
    starts_on: date
    ends_on: date
    teams: tuple[str, ...]


async def open_campaign(
    session: AsyncSession, plan: CampaignPlan, *, actor: Principal, now: datetime
) -> InspectionCampaign:
    """Set up an inspection campaign; the visits of its round already made in its scope and dates count for it."""
    check_campaign_scope(plan.kind, plan.scope_level, plan.scope_code)
    check_campaign_dates(plan.starts_on, plan.ends_on)
    campaign = InspectionCampaign(
        name=plan.name,
        kind=plan.kind,
        scope_level=plan.scope_level,
        scope_code=plan.scope_code,
        round=plan.round,
        starts_on=plan.starts_on,
        ends_on=plan.ends_on,
        teams=list(plan.teams),
        created_by=actor.subject,
        created_at=now,
    )
    session.add(campaign)
    publish(
        session,
        InspectionCampaignOpened(
            campaign_id=campaign.id,
            kind=plan.kind,
            scope_level=plan.scope_level,
            scope_code=plan.scope_code,
            round=plan.round,
            starts_on=plan.starts_on,
            ends_on=plan.ends_on,
        ),
    )
    await count_earlier_visits(session, campaign)
    return campaign


async def ensure_covers(
    session: AsyncSession, campaign_id: UUID, *, area_code: str, subject_id: str, now: datetime
) -> InspectionCampaign:
    """The campaign exists, is running today (district calendar) and its scope contains the problem."""
    campaign = await get_campaign(session, campaign_id)
    check_running(campaign.starts_on, campaign.ends_on, today=district_day(now))
    scope = ScopeLevel(campaign.scope_level)
    if not campaign_covers(scope, campaign.scope_code, area_code=area_code, subject_id=subject_id):
        raise RuleViolation("The problem lies outside the campaign's scope.")
    return campaign


async def get_campaign(session: AsyncSession, campaign_id: UUID) -> InspectionCampaign:
    campaign = await session.get(InspectionCampaign, campaign_id)
    if campaign is None:
        raise NotFound("No inspection campaign has this id.")
    return campaign


def reaching(stmt: Select[Any], actor: Principal) -> Select[Any]:
    """Limit a query of campaigns to those that concern an area-scoped actor (a township officer): a district's,
    township's or village's whose scope holds the actor's area or lies within it, and a project's when a finding
    on the project lies in the area (audit knows a project's place from its findings only). Anyone else sees every
    campaign."""
    if not actor.is_area_scoped:
        return stmt
    return concerning(stmt, actor.area or "\0")


def concerning(stmt: Select[Any], area: str) -> Select[Any]:
    """Limit a query of campaigns to those that concern `area` (see `reaching`)."""
    scope_code, level = col(InspectionCampaign.scope_code), col(InspectionCampaign.scope_level)
    holds_the_area = scope_code.in_([area[:n] for n in range(1, len(area) + 1)])
    project_found_here = (
        select(col(Finding.id))
        .where(
            col(Finding.subject_kind) == SubjectKind.PROJECT,
            col(Finding.subject_id) == scope_code,
            col(Finding.area_code).startswith(area),
        )
        .exists()
    )
    return stmt.where(
        or_(
            and_(level != ScopeLevel.PROJECT, or_(holds_the_area, scope_code.startswith(area))),
            and_(level == ScopeLevel.PROJECT, project_found_here),
        )
    )


async def read_campaign(session: AsyncSession, campaign_id: UUID, *, actor: Principal) -> InspectionCampaign:
    """A campaign that concerns the actor (`reaching`); NotFound, or Forbidden when it concerns another area."""
    stmt = reaching(select(InspectionCampaign).where(col(InspectionCampaign.id) == campaign_id), actor)
    campaign: InspectionCampaign | None = (await session.scalars(stmt)).first()
    if campaign is None:
        await get_campaign(session, campaign_id)  # NotFound when there is none at all
        raise Forbidden("This campaign's scope does not reach your area.")
    return campaign


CampaignStatus = Literal["upcoming", "running", "ended"]


@dataclass(frozen=True)
class CampaignFilter:
    """What a list of campaigns may be narrowed to: a kind, a round, the campaigns that concern an area, those
    upcoming, running or ended on `today`, those running on some day from `since` to `until`."""

    kind: CampaignKind | None = None
    round: int | None = None
    area_code: str | None = None
    status: CampaignStatus | None = None
    since: date | None = None
    until: date | None = None


def _filtered(stmt: Select[Any], flt: CampaignFilter, *, today: date) -> Select[Any]:
    starts_on, ends_on = col(InspectionCampaign.starts_on), col(InspectionCampaign.ends_on)
    if flt.kind is not None:
        stmt = stmt.where(col(InspectionCampaign.kind) == flt.kind)
    if flt.round is not None:
        stmt = stmt.where(col(InspectionCampaign.round) == flt.round)
    if flt.area_code is not None:
        stmt = concerning(stmt, flt.area_code)
    if flt.status is not None:
        stmt = stmt.where(
            {
                "upcoming": starts_on > today,
                "running": and_(starts_on <= today, ends_on >= today),
                "ended": ends_on < today,
            }[flt.status]
        )
    if flt.since is not None:
        stmt = stmt.where(ends_on >= flt.since)
    if flt.until is not None:
        stmt = stmt.where(starts_on <= flt.until)
    return stmt


async def list_campaigns(
    session: AsyncSession, *, actor: Principal, flt: CampaignFilter, today: date, after: Key | None, limit: int
) -> list[InspectionCampaign]:
    """Campaigns that concern the actor (`reaching`) and pass the filter, latest start first: (starts_on, id)
    descending, after the cursor's key. An area-scoped actor asking for an area outside its own is refused."""
    if flt.area_code is not None:
        actor.ensure_reach(flt.area_code)
    stmt = _filtered(reaching(select(InspectionCampaign), actor), flt, today=today)
    columns = [col(InspectionCampaign.starts_on), col(InspectionCampaign.id)]
    return list((await session.scalars(keyset(stmt, columns, after, limit=limit, descending=True))).all())

"""Inspection campaigns: set up by the district office, read by everyone who inspects or reviews."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from services.audit.api.deps import DistrictOffice, Limit, Reader
from services.audit.domain import campaigns
from services.audit.schemas.campaigns import CampaignCreate, CampaignRead
from shared.api.clock import Now
from shared.contracts.audit import CampaignKind
from shared.http import Transaction

router = APIRouter(prefix="/campaigns", tags=["campaigns"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def open_campaign(body: CampaignCreate, session: Transaction, actor: DistrictOffice, now: Now) -> CampaignRead:
    """Set up a self-assessment round, a targeted supervision of a township, a follow-up check..."""
    plan = campaigns.CampaignPlan(
        name=body.name,
        kind=body.kind,
        scope_level=body.scope_level,
        scope_code=body.scope_code,
        round=body.round,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        teams=tuple(body.teams),
    )
    return CampaignRead.model_validate(campaigns.open_campaign(session, plan, actor=actor, now=now))


@router.get("")
async def list_campaigns(
    session: Transaction, _: Reader, kind: CampaignKind | None = None, limit: Limit = 100
) -> list[CampaignRead]:
    return [CampaignRead.model_validate(c) for c in await campaigns.list_campaigns(session, kind=kind, limit=limit)]


@router.get("/{campaign_id}")
async def get_campaign(campaign_id: UUID, session: Transaction, _: Reader) -> CampaignRead:
    return CampaignRead.model_validate(await campaigns.get_campaign(session, campaign_id))

"""Inspection campaigns: set up by the district office, read by everyone who inspects or reviews."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from services.audit.api.deps import DistrictOffice, Reader
from services.audit.domain import campaigns
from services.audit.schemas.campaigns import CampaignCreate, CampaignRead
from shared.api.clock import Now
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, date_key, uuid_key
from shared.contracts.audit import CampaignKind
from shared.http import Transaction
from shared.openapi import AREA_RULE_KEY

router = APIRouter(prefix="/campaigns", tags=["campaigns"])
# Campaigns are set up by the district and have no area of their own: the generic rule would not say which.
CAMPAIGN_REACH = {
    AREA_RULE_KEY: "**Area rule:** a `township_office` sees the campaigns whose scope reaches its token's area "
    "(`area` claim): a district-wide campaign, one of its township or of a village in it, and one of a project "
    "with a finding in its area. Another campaign is refused with 403 and left out of lists."
}


@router.post("", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def open_campaign(
    body: CampaignCreate, session: Transaction, actor: DistrictOffice, now: Now, idem: Idempotency
) -> CampaignRead:
    """Set up an inspection campaign (检查): self-assessment, targeted supervision, follow-up or verification

    A self-assessment round (自查评估), the targeted supervision of a township (挂牌督战), a follow-up check round
    (回头看) or a department verification (行业部门核查), over the district, a township, a village or one project,
    for a round and a span of days, by named teams. Findings and follow-up checks may then name it while it runs
    and covers them. Publishes `InspectionCampaignOpened`.
    """
    if (earlier := await idem.replay(body, CampaignRead)) is not None:
        return earlier
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
    return idem.remember(CampaignRead.model_validate(campaigns.open_campaign(session, plan, actor=actor, now=now)))


@router.get("", openapi_extra=CAMPAIGN_REACH)
async def list_campaigns(
    session: Transaction, actor: Reader, paging: Paging, kind: CampaignKind | None = None
) -> Page[CampaignRead]:
    """List inspection campaigns (检查), latest start first

    Optionally of one kind. Pages run in (`starts_on`, `id`) descending order.
    """
    found = await campaigns.list_campaigns(
        session, actor=actor, kind=kind, after=paging.after(date_key, uuid_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(found, lambda c: [c.starts_on.isoformat(), str(c.id)])
    return Page(items=[CampaignRead.model_validate(c) for c in items], next_cursor=next_cursor)


@router.get("/{campaign_id}", openapi_extra=CAMPAIGN_REACH)
async def get_campaign(campaign_id: UUID, session: Transaction, actor: Reader) -> CampaignRead:
    """Read one inspection campaign (检查): its kind, scope, round, dates and teams"""
    return CampaignRead.model_validate(await campaigns.read_campaign(session, campaign_id, actor=actor))

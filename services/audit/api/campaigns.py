"""Inspection campaigns: set up by the district office, read by everyone who inspects or reviews."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from services.audit.api.deps import DistrictOffice, Policy, Reader, Span
from services.audit.domain import campaigns, coverage, coverage_checks
from services.audit.schemas.campaigns import (
    CampaignCreate,
    CampaignRead,
    CoverageCheckRead,
    TownshipCoverageRead,
    UnreachedHouseholdRead,
)
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, date_key, text_key, uuid_key
from shared.areas import AreaCode
from shared.contracts.audit import CampaignKind
from shared.http import Reading, Transaction
from shared.openapi import AREA_RULE_KEY

router = APIRouter(prefix="/campaigns", tags=["campaigns"])
# Campaigns are set up by the district and have no area of their own: the generic rule would not say which.
CAMPAIGN_REACH = {
    AREA_RULE_KEY: "**Area rule:** a `township_office` sees the campaigns whose scope reaches its token's area "
    "(`area` claim): a district-wide campaign, one of its township or of a village in it, and one of a project "
    "with a finding in its area. Another campaign is refused with 403 and left out of lists."
}
CHECKS_AT_ONCE = 1000  # campaigns judged by one request; a district sets up a few dozen a year


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
    campaign = await campaigns.open_campaign(session, plan, actor=actor, now=now)
    return idem.remember(CampaignRead.model_validate(campaign))


@router.get("", openapi_extra=CAMPAIGN_REACH)
async def list_campaigns(
    session: Reading,
    actor: Reader,
    today: Today,
    paging: Paging,
    running: Span,
    kind: CampaignKind | None = None,
    round: Annotated[int | None, Query(ge=1, le=50, description="Only of this round.")] = None,
    area_code: Annotated[
        AreaCode | None, Query(description="Only those whose scope holds this area or lies within it.")
    ] = None,
    status: Annotated[
        campaigns.CampaignStatus | None, Query(description="Upcoming, running or ended today (district calendar).")
    ] = None,
) -> Page[CampaignRead]:
    """List inspection campaigns (检查), latest start first

    Optionally of one kind or round, concerning an area (`area_code`: outside a township office's own, 403),
    upcoming, running or ended today, or running on some day from `from` to `to`; a bad value is a 422. Pages run
    in (`starts_on`, `id`) descending order.
    """
    flt = campaigns.CampaignFilter(
        kind=kind, round=round, area_code=area_code, status=status, since=running.since, until=running.until
    )
    found = await campaigns.list_campaigns(
        session, actor=actor, flt=flt, today=today, after=paging.after(date_key, uuid_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(found, lambda c: [c.starts_on.isoformat(), str(c.id)])
    return Page(items=[CampaignRead.model_validate(c) for c in items], next_cursor=next_cursor)


@router.post("/checks")
async def check_coverage_now(session: Transaction, _: DistrictOffice, now: Now, policy: Policy) -> CoverageCheckRead:
    """Judge the coverage (全覆盖) of every campaign that has ended, now

    The scheduled check does this every `AUDIT_COVERAGE_CHECK_INTERVAL_S`; the district office may do it at once.
    Each campaign that ended before today (district calendar) is judged once: every township of its scope below
    full coverage gets a `coverage_incomplete` finding (conduct, serious), found on the campaign's last day, with
    its rectification task. Answers how many campaigns were judged and findings recorded (none when repeated).
    """
    checks = await coverage_checks.check_ended_campaigns(session, policy=policy, now=now, limit=CHECKS_AT_ONCE)
    findings = sum(len(check.below_full) for check in checks)
    return CoverageCheckRead(checked_at=now, campaigns=len(checks), findings=findings)


@router.get("/{campaign_id}", openapi_extra=CAMPAIGN_REACH)
async def get_campaign(campaign_id: UUID, session: Reading, actor: Reader) -> CampaignRead:
    """Read one inspection campaign (检查): its kind, scope, round, dates and teams"""
    return CampaignRead.model_validate(await campaigns.read_campaign(session, campaign_id, actor=actor))


@router.get("/{campaign_id}/coverage", openapi_extra=CAMPAIGN_REACH)
async def campaign_coverage(
    campaign_id: UUID, session: Reading, actor: Reader, paging: Paging
) -> Page[TownshipCoverageRead]:
    """A campaign's coverage (全覆盖) township by township: households to reach, reached, not reached

    The households audit knows in the campaign's scope, registered before it ended, and those a visit of its round
    reached within its dates (a household once, however often visited), per township, with the rate in basis
    points rounded down (`10000` only at full coverage). A township office sees its own township's. A project's
    campaign visits no households: its coverage is empty. Pages run in township order.
    """
    campaign = await campaigns.read_campaign(session, campaign_id, actor=actor)
    found = await coverage.township_coverage(
        session, campaign, actor=actor, after=paging.after(text_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(found, lambda c: [c.township])
    return Page(items=[TownshipCoverageRead.model_validate(c) for c in items], next_cursor=next_cursor)


@router.get("/{campaign_id}/unreached", openapi_extra=CAMPAIGN_REACH)
async def unreached_households(
    campaign_id: UUID,
    session: Reading,
    actor: Reader,
    paging: Paging,
    area_code: Annotated[AreaCode | None, Query(description="Only those in this area (a prefix).")] = None,
) -> Page[UnreachedHouseholdRead]:
    """List the households a campaign has not reached (未走访到户): by area, then id

    The households it had to reach (known in its scope, registered before it ended) that no visit of its round
    reached within its dates, optionally in one area (`area_code`; outside a township office's own, 403). Read
    while it runs, the households still to visit. Pages run in (`area_code`, `household_id`) order.
    """
    campaign = await campaigns.read_campaign(session, campaign_id, actor=actor)
    found = await coverage.unreached_households(
        session,
        campaign,
        actor=actor,
        area_code=area_code,
        after=paging.after(text_key, uuid_key),
        limit=paging.limit + 1,
    )
    items, next_cursor = paging.page(found, lambda h: [h.area_code, str(h.household_id)])
    return Page(items=[UnreachedHouseholdRead.model_validate(h) for h in items], next_cursor=next_cursor)

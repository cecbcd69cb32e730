"""Routes of the distribution plans of assets' income (收益分配方案: 摸底 → 审核 → 批准 → 发放 → 报账)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.api.deps import Accountant, PlanApprover, PlanPreparer, PlanReviewer, Reader
from services.projects.domain import plan_preparation, plan_reads, plans
from services.projects.models import DistributionPlan, PlanSetAside
from services.projects.rules.vocabulary import PlanStatus
from services.projects.schemas.plans import (
    HouseholdShareRead,
    PlanAccounting,
    PlanCreate,
    PlanRead,
    PlanRejection,
    PlanReview,
    PlanSummary,
    SetAsideRead,
    ShareRead,
)
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, datetime_key, text_key, uuid_key
from shared.areas import AreaCode
from shared.http import Reading, Transaction

router = APIRouter(tags=["plans"])
OwnerArea = Annotated[
    AreaCode | None, Query(description="only plans of owners within this district, township or village")
]


def _fields(plan: DistributionPlan) -> dict[str, Any]:
    rule = plan.rule
    return {
        **plan.model_dump(),
        "basis": rule["basis"],
        "category_points": rule.get("category_points"),
        "judged_on": rule["judged_on"],
        "note": rule.get("note", ""),
    }


def _read(plan: DistributionPlan, set_asides: list[PlanSetAside]) -> PlanRead:
    return PlanRead(**_fields(plan), set_asides=[SetAsideRead(**s.model_dump()) for s in set_asides])


async def _full(session: AsyncSession, plan: DistributionPlan) -> PlanRead:
    return _read(plan, await plan_reads.set_asides_of(session, plan.id))


@router.post("/plans", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def prepare_plan(
    body: PlanCreate, session: Transaction, actor: PlanPreparer, idem: Idempotency, now: Now, today: Today
) -> PlanRead:
    """Prepare a plan sharing an asset's income among its owner's poor households (摸底)

    The households entitled are those on the household roll within the asset owner's village or township, in
    poverty, exited but still receiving policies, monitored or relapsed (never exited without policies), with a
    living member. Each set-aside purpose keeps back its basis points of the income (rounded down); the rest is
    shared by weight (`basis`): living members, one per household, or the points of the household's categories
    added up (one for a household in none), judged on the roll on the request's day. Shares are whole fen by the
    largest-remainder method (ties by household id) and add up exactly to the rest; a household whose share is
    0 fen gets none. Each share keeps the facts it was decided on and an explanation in plain words.

    Refused: an income unknown (404); an owner outside the caller's area (403); an income that names no asset
    (409, `income_without_asset`); an income that has a plan not rejected (409, `plan_exists`); no entitled
    household (409, `no_households`); more than 5,000 (409, `plan_too_large`); nothing left once the set-asides
    are kept back (409, `nothing_to_share`); category points missing or not used (422,
    `category_points_required`, `category_points_unused`); a purpose twice (422, `repeated_purpose`); set-asides
    over the whole income (422, `set_aside_too_large`). Publishes `DistributionPlanStatusChanged`.
    """
    if (earlier := await idem.replay(body, PlanRead)) is not None:
        return earlier
    plan = await plan_preparation.prepare_plan(session, body, actor=actor, today=today, now=now)
    return idem.remember(await _full(session, plan))


@router.post("/plans/{plan_id}/review")
async def review_plan(plan_id: UUID, body: PlanReview, session: Transaction, actor: PlanReviewer, now: Now) -> PlanRead:
    """Review a prepared plan (审核): reviewed, or rejected with a note

    A rejected plan's income may be planned again. Publishes `DistributionPlanStatusChanged`. Refused: a plan not
    prepared (409, `plan_state`); a rejection without a note (422, `note_required`); a plan of an owner outside the
    caller's area (403); a reviewer who prepared the plan (403, `separation_of_duties`; subjects are compared
    regardless of case).
    """
    return await _full(session, await plans.review(session, plan_id, body, actor=actor, now=now))


@router.post("/plans/{plan_id}/approval")
async def approve_plan(plan_id: UUID, session: Transaction, actor: PlanApprover, now: Now) -> PlanRead:
    """Approve a reviewed plan (批准) for subsidies to pay

    Publishes `IncomeDistributionApproved` on `projects.events` with every share: subsidies pays them as a cycle
    of `project_income_share` whose id is the plan's, through its batches and bank file, and each payment comes
    back to the plan's share; and `DistributionPlanStatusChanged`. Refused: a plan not reviewed (409,
    `plan_state`); an approver who prepared or reviewed the plan (403, `separation_of_duties`; subjects are
    compared regardless of case); a household of the plan the roll no longer entitles on the approval's day
    (exited without policies, moved out of the owner's area, no living member): 409 `plan_outdated` with
    `household_count` and `household_ids`, nothing changed; reject the plan and prepare it again.
    """
    return await _full(session, await plans.approve(session, plan_id, actor=actor, now=now))


@router.post("/plans/{plan_id}/rejection")
async def reject_plan(
    plan_id: UUID, body: PlanRejection, session: Transaction, actor: PlanApprover, now: Now
) -> PlanRead:
    """Reject a reviewed plan at approval, with a note

    The income may be planned again. Publishes `DistributionPlanStatusChanged`. Refused: a plan not reviewed (409,
    `plan_state`).
    """
    return await _full(session, await plans.reject(session, plan_id, body, actor=actor, now=now))


@router.post("/plans/{plan_id}/accounting")
async def account_plan(
    plan_id: UUID, body: PlanAccounting, session: Transaction, actor: Accountant, now: Now
) -> PlanRead:
    """Account for a paid plan (报账) under its voucher

    A payment reversed after the plan was accounted returns it to `approved` (its accounting kept meanwhile): once
    paid in full again it is accounted again, under the new voucher. Publishes `DistributionPlanStatusChanged`.
    Refused: a plan not paid in full (409, `plan_state`).
    """
    return await _full(session, await plans.account(session, plan_id, body, actor=actor, now=now))


@router.get("/plans")
async def list_plans(
    session: Reading,
    actor: Reader,
    paging: Paging,
    area_code: OwnerArea = None,
    plan_status: Annotated[PlanStatus | None, Query(alias="status")] = None,
    project_id: UUID | None = None,
) -> Page[PlanSummary]:
    """List distribution plans, the latest prepared first

    Filtered by the owner's area, status and project. Without `area_code`, a township officer or village cadre
    lists their own area and every other caller the whole district. Pass `next_cursor` on for the next page.

    Refused: an area outside a scoped caller's own (403).
    """
    scope = area_code or (actor.area if actor.is_area_scoped else None) or ""
    if actor.is_area_scoped:
        actor.ensure_reach(scope)
    rows = await plan_reads.plan_page(
        session,
        area_prefix=scope,
        status=plan_status,
        project_id=project_id,
        after=paging.after(datetime_key, uuid_key),
        limit=paging.limit + 1,
    )
    items, next_cursor = paging.page(rows, lambda p: [p.prepared_at.isoformat(), str(p.id)])
    return Page(items=[PlanSummary(**_fields(p)) for p in items], next_cursor=next_cursor)


@router.get("/plans/{plan_id}")
async def get_plan(plan_id: UUID, session: Reading, actor: Reader) -> PlanRead:
    """Read a distribution plan with its set-asides"""
    return await _full(session, await plan_reads.get_plan(session, plan_id, actor=actor))


@router.get("/plans/{plan_id}/shares")
async def list_plan_shares(plan_id: UUID, session: Reading, actor: Reader, paging: Paging) -> Page[ShareRead]:
    """List a plan's shares by household id, each with its facts and explanation

    Pass `next_cursor` on for the next page.
    """
    plan = await plan_reads.get_plan(session, plan_id, actor=actor)
    rows = await plan_reads.share_page(session, plan, after=paging.after(uuid_key), limit=paging.limit + 1)
    items, next_cursor = paging.page(rows, lambda s: [str(s.household_id)])
    return Page(items=[ShareRead(**s.model_dump()) for s in items], next_cursor=next_cursor)


@router.get("/households/{household_id}/plan-shares")
async def list_household_plan_shares(
    household_id: UUID, session: Reading, actor: Reader, paging: Paging
) -> Page[HouseholdShareRead]:
    """List what a household got from distribution plans, the latest month first

    Its shares of plans not rejected, each with where its plan stands and whether it was paid. Pass `next_cursor`
    on for the next page. Refused: a household not on the roll (404); outside a scoped caller's area (403).
    """
    rows = await plan_reads.household_share_page(
        session, household_id, actor=actor, after=paging.after(text_key, uuid_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda r: [r[1].period, str(r[1].id)])
    return Page(
        items=[
            HouseholdShareRead(
                **share.model_dump(exclude={"id", "plan_id"}),
                plan_id=plan.id,
                project_id=plan.project_id,
                income_id=plan.income_id,
                period=plan.period,
                plan_status=plan.status,
            )
            for share, plan in items
        ],
        next_cursor=next_cursor,
    )

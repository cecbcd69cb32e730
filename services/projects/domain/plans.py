"""Distribution plans of an asset's income (收益分配方案) once prepared (`plan_preparation.py`): reviewed by the
township (审核), approved by someone who neither prepared nor reviewed it, paid share by share through subsidies,
accounted for (报账); rejected at review or approval, the income may be planned again.

Every step locks the plan's row, so two steps on one plan (two approvals, a payment and a reversal) take turns.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects import events
from services.projects.models import DistributionPlan, PlanSetAside, PlanShare, RollHousehold
from services.projects.rules.vocabulary import PlanStatus, ShareStatus
from services.projects.schemas.plans import PlanAccounting, PlanRejection, PlanReview
from shared.auth import Principal
from shared.contracts.projects import IncomeDistributionApproved
from shared.contracts.projects import PlanShare as ApprovedShare
from shared.db import keyset
from shared.errors import Conflict, Forbidden, NotFound, RuleViolation


async def review(
    session: AsyncSession, plan_id: UUID, data: PlanReview, *, actor: Principal, now: datetime
) -> DistributionPlan:
    """审核: a prepared plan reviewed, or rejected with a note."""
    plan = await plan_to_change(session, plan_id, actor=actor, allowed={PlanStatus.PREPARED}, step="reviewed")
    plan.reviewed_by, plan.reviewed_at, plan.review_note = actor.subject, now, data.note or None
    if data.approve:
        plan.status = PlanStatus.REVIEWED.value
    else:
        _reject(plan, by=actor.subject, at=now, note=data.note)
    return plan


async def approve(session: AsyncSession, plan_id: UUID, *, actor: Principal, now: datetime) -> DistributionPlan:
    """A reviewed plan approved by someone who neither prepared nor reviewed it; publishes
    `IncomeDistributionApproved` for subsidies to pay each share."""
    plan = await plan_to_change(session, plan_id, actor=actor, allowed={PlanStatus.REVIEWED}, step="approved")
    if actor.subject in {plan.prepared_by, plan.reviewed_by}:
        raise Forbidden(
            "A plan is approved by someone other than who prepared or reviewed it.", code="separation_of_duties"
        )
    plan.status, plan.approved_by, plan.approved_at = PlanStatus.APPROVED.value, actor.subject, now
    rows = await session.execute(
        select(col(PlanShare.household_id), col(PlanShare.amount_fen))
        .where(col(PlanShare.plan_id) == plan.id)
        .order_by(col(PlanShare.household_id))
    )
    events.publish(
        session,
        IncomeDistributionApproved(
            project_id=plan.project_id,
            plan_id=plan.id,
            income_id=plan.income_id,
            period=plan.period,
            owner_area_code=plan.owner_area_code,
            approved_by=actor.subject,
            shares=[ApprovedShare(household_id=hid, amount_fen=fen) for hid, fen in rows.all()],
        ),
    )
    return plan


async def reject(
    session: AsyncSession, plan_id: UUID, data: PlanRejection, *, actor: Principal, now: datetime
) -> DistributionPlan:
    """A reviewed plan rejected at approval, with a note: its income may be planned again."""
    plan = await plan_to_change(session, plan_id, actor=actor, allowed={PlanStatus.REVIEWED}, step="rejected")
    _reject(plan, by=actor.subject, at=now, note=data.note)
    return plan


async def account(
    session: AsyncSession, plan_id: UUID, data: PlanAccounting, *, actor: Principal, now: datetime
) -> DistributionPlan:
    """报账: a paid plan accounted for under a voucher."""
    plan = await plan_to_change(session, plan_id, actor=actor, allowed={PlanStatus.PAID}, step="accounted")
    plan.status, plan.voucher_no = PlanStatus.ACCOUNTED.value, data.voucher_no
    plan.accounted_by, plan.accounted_at = actor.subject, now
    return plan


async def share_paid(
    session: AsyncSession, *, plan_id: UUID, household_id: UUID, payment_id: UUID, amount_fen: int, now: datetime
) -> None:
    """Subsidies paid a household its share of a plan (SubsidyPaid, cycle id = plan id); once every share is paid
    the plan is `paid`. Nothing for a cycle that is no plan's, nor for a share already paid."""
    plan = await _locked(session, plan_id)
    if plan is None:
        return
    share = (
        await session.scalars(
            select(PlanShare).where(col(PlanShare.plan_id) == plan_id, col(PlanShare.household_id) == household_id)
        )
    ).one_or_none()
    if share is None or share.status == ShareStatus.PAID:
        return
    if amount_fen != share.amount_fen:  # subsidies pays the approved amount: anything else must be looked into
        raise RuleViolation(f"A share of {share.amount_fen} fen was paid {amount_fen} fen.")
    share.status, share.payment_id, share.paid_at = ShareStatus.PAID.value, payment_id, now
    plan.paid_fen += share.amount_fen
    unpaid = await session.scalar(
        select(func.count()).where(col(PlanShare.plan_id) == plan_id, col(PlanShare.status) != ShareStatus.PAID.value)
    )
    if plan.status == PlanStatus.APPROVED and unpaid == 0:
        plan.status, plan.paid_at = PlanStatus.PAID.value, now


async def share_reversed(session: AsyncSession, *, payment_id: UUID, now: datetime) -> None:
    """Subsidies reversed or recovered a share's payment: the share is `reversed`, and a paid plan is `approved`
    again (the share awaits its payment). Nothing when the payment is not a plan's or was reversed already."""
    plan_id = await session.scalar(select(col(PlanShare.plan_id)).where(col(PlanShare.payment_id) == payment_id))
    plan = None if plan_id is None else await _locked(session, plan_id)
    if plan is None:
        return
    share = (
        await session.scalars(select(PlanShare).where(col(PlanShare.payment_id) == payment_id).with_for_update())
    ).one()
    if share.status != ShareStatus.PAID:
        return
    share.status, share.paid_at = ShareStatus.REVERSED.value, None
    plan.paid_fen -= share.amount_fen
    if plan.status == PlanStatus.PAID:
        plan.status, plan.paid_at = PlanStatus.APPROVED.value, None


async def plan_to_change(
    session: AsyncSession, plan_id: UUID, *, actor: Principal, allowed: Collection[PlanStatus], step: str
) -> DistributionPlan:
    """The plan, locked, within the actor's reach and in a status the step is taken from (409 `plan_state`)."""
    plan = await _locked(session, plan_id)
    if plan is None:
        raise NotFound("No distribution plan has this id.")
    actor.ensure_reach(plan.owner_area_code)
    if plan.status not in allowed:
        raise Conflict(
            f"The plan is {plan.status}: it cannot be {step} now.", code="plan_state", plan_status=plan.status
        )
    return plan


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


def _reject(plan: DistributionPlan, *, by: str, at: datetime, note: str) -> None:
    plan.status = PlanStatus.REJECTED.value
    plan.rejected_by, plan.rejected_at, plan.rejection_note = by, at, note


async def _locked(session: AsyncSession, plan_id: UUID) -> DistributionPlan | None:
    stmt = select(DistributionPlan).where(col(DistributionPlan.id) == plan_id).with_for_update()
    return (await session.scalars(stmt.execution_options(populate_existing=True))).one_or_none()

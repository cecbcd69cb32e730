"""Distribution plans of an asset's income (收益分配方案) once prepared (`plan_preparation.py`): reviewed by the
township (审核) by someone other than its preparer, approved by someone who neither prepared nor reviewed it while
the roll still entitles every household it shares with, paid share by share through subsidies, accounted for
(报账); rejected at review or approval, the income may be planned again. Every change of status publishes
`DistributionPlanStatusChanged`.

Every step locks the plan's row, so two steps on one plan (two approvals, a payment and a reversal) take turns.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects import events
from services.projects.domain.plan_events import SUBSIDIES, plan_changed
from services.projects.domain.plan_preparation import outdated_households
from services.projects.domain.problems import report_problem
from services.projects.models import DistributionPlan, PlanShare, Project
from services.projects.rules.vocabulary import PlanStatus, ProblemOrigin, ShareStatus
from services.projects.schemas.plans import PlanAccounting, PlanRejection, PlanReview
from shared.auth import Principal
from shared.contracts.audit import Severity
from shared.contracts.projects import IncomeDistributionApproved
from shared.contracts.projects import PlanShare as ApprovedShare
from shared.duties import ensure_someone_else
from shared.errors import Conflict, NotFound, RuleViolation
from shared.timeutil import DISTRICT_TZ

# Plans subsidies was sent to pay: a payment of any other plan's share is refused.
PAYABLE = frozenset({PlanStatus.APPROVED, PlanStatus.PAID, PlanStatus.ACCOUNTED})
PAID_TWICE = "share_paid_twice"  # the problem a second payment of one share is reported as


async def review(
    session: AsyncSession, plan_id: UUID, data: PlanReview, *, actor: Principal, now: datetime
) -> DistributionPlan:
    """审核: a prepared plan reviewed, or rejected with a note, by someone other than its preparer."""
    plan = await plan_to_change(session, plan_id, actor=actor, allowed={PlanStatus.PREPARED}, step="reviewed")
    ensure_someone_else(
        actor.subject, plan.prepared_by, message="A plan is reviewed by someone other than its preparer."
    )
    plan.reviewed_by, plan.reviewed_at, plan.review_note = actor.subject, now, data.note or None
    if data.approve:
        plan.status = PlanStatus.REVIEWED.value
    else:
        _reject(plan, by=actor.subject, at=now, note=data.note)
    plan_changed(session, plan, PlanStatus.PREPARED, by=actor.subject)
    return plan


async def approve(session: AsyncSession, plan_id: UUID, *, actor: Principal, now: datetime) -> DistributionPlan:
    """A reviewed plan approved by someone who neither prepared nor reviewed it; publishes
    `IncomeDistributionApproved` for subsidies to pay each share. The roll is judged again first: a household no
    longer entitled (exited without policies, moved out of the owner's area, no living member) makes the plan
    outdated (409 `plan_outdated`, naming them); it is rejected and prepared again."""
    plan = await plan_to_change(session, plan_id, actor=actor, allowed={PlanStatus.REVIEWED}, step="approved")
    ensure_someone_else(
        actor.subject,
        plan.prepared_by,
        plan.reviewed_by,
        message="A plan is approved by someone other than who prepared or reviewed it.",
    )
    if outdated := await outdated_households(session, plan):
        raise Conflict(
            f"{len(outdated)} of the plan's households are no longer entitled: reject it and prepare it again.",
            code="plan_outdated",
            household_count=len(outdated),
            household_ids=[str(h) for h in outdated],
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
    plan_changed(session, plan, PlanStatus.REVIEWED, by=actor.subject)
    return plan


async def reject(
    session: AsyncSession, plan_id: UUID, data: PlanRejection, *, actor: Principal, now: datetime
) -> DistributionPlan:
    """A reviewed plan rejected at approval, with a note: its income may be planned again."""
    plan = await plan_to_change(session, plan_id, actor=actor, allowed={PlanStatus.REVIEWED}, step="rejected")
    _reject(plan, by=actor.subject, at=now, note=data.note)
    plan_changed(session, plan, PlanStatus.REVIEWED, by=actor.subject)
    return plan


async def account(
    session: AsyncSession, plan_id: UUID, data: PlanAccounting, *, actor: Principal, now: datetime
) -> DistributionPlan:
    """报账: a paid plan accounted for under a voucher (again, after a reversal: the new voucher replaces the old)."""
    plan = await plan_to_change(session, plan_id, actor=actor, allowed={PlanStatus.PAID}, step="accounted")
    plan.status, plan.voucher_no = PlanStatus.ACCOUNTED.value, data.voucher_no
    plan.accounted_by, plan.accounted_at = actor.subject, now
    plan_changed(session, plan, PlanStatus.PAID, by=actor.subject)
    return plan


async def share_paid(
    session: AsyncSession, *, plan_id: UUID, household_id: UUID, payment_id: UUID, amount_fen: int, now: datetime
) -> None:
    """Subsidies paid a household its share of a plan (SubsidyPaid, cycle id = plan id); once every share is paid
    the plan is `paid`. Nothing for a cycle that is no plan's, a household without a share, or a payment told again.

    Refused (RuleViolation: the event is retried, then dead-lettered for someone to look into): a payment for a plan
    never approved, and an amount other than the share's. A second, different payment of a paid share is a double
    payment: the first stays, and a severe problem `share_paid_twice` is reported on the plan's project (audit
    refers it to the discipline commission)."""
    plan = await _locked(session, plan_id)
    if plan is None:
        return
    if plan.status not in PAYABLE:
        raise RuleViolation(f"The plan is {plan.status}: subsidies was never sent to pay it.")
    share = (
        await session.scalars(
            select(PlanShare).where(col(PlanShare.plan_id) == plan_id, col(PlanShare.household_id) == household_id)
        )
    ).one_or_none()
    if share is None or share.payment_id == payment_id:
        return
    if share.status == ShareStatus.PAID:
        await _paid_twice(session, plan, share, payment_id=payment_id, amount_fen=amount_fen, now=now)
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
        plan_changed(session, plan, PlanStatus.APPROVED, by=SUBSIDIES)


async def _paid_twice(
    session: AsyncSession, plan: DistributionPlan, share: PlanShare, *, payment_id: UUID, amount_fen: int, now: datetime
) -> None:
    """Report the second payment of a paid share once (a check's problem about the payment)."""
    project = await session.get(Project, plan.project_id)
    if project is None:
        raise NotFound("The plan's project is gone.")
    await report_problem(
        session,
        project,
        code=PAID_TWICE,
        description=(
            f"Household {share.household_id}'s share of {share.amount_fen} fen in the plan of {plan.period} was paid "
            f"by payment {share.payment_id} and again by payment {payment_id} ({amount_fen} fen)."
        ),
        found_on=now.astimezone(DISTRICT_TZ).date(),
        found_by=SUBSIDIES,
        origin=ProblemOrigin.CHECK,
        severity=Severity.SEVERE,
        subject_ref=str(payment_id),
    )


async def share_reversed(session: AsyncSession, *, payment_id: UUID, now: datetime) -> None:
    """Subsidies reversed or recovered a share's payment: the share is `reversed`, and a paid or accounted plan is
    `approved` again (the share awaits its payment). An accounted plan keeps its accounting (voucher, who, when)
    until it is paid and accounted for again, which replaces them. Nothing when the payment is not a plan's or was
    reversed already."""
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
    if plan.status in {PlanStatus.PAID, PlanStatus.ACCOUNTED}:
        was = PlanStatus(plan.status)
        plan.status, plan.paid_at = PlanStatus.APPROVED.value, None
        plan_changed(session, plan, was, by=SUBSIDIES)


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


def _reject(plan: DistributionPlan, *, by: str, at: datetime, note: str) -> None:
    plan.status = PlanStatus.REJECTED.value
    plan.rejected_by, plan.rejected_at, plan.rejection_note = by, at, note


async def _locked(session: AsyncSession, plan_id: UUID) -> DistributionPlan | None:
    stmt = select(DistributionPlan).where(col(DistributionPlan.id) == plan_id).with_for_update()
    return (await session.scalars(stmt.execution_options(populate_existing=True))).one_or_none()

"""Households reacts to audit (its findings about a household, kept while their rectification is open), to
subsidies (money that reached a household: subsidies paid, shares of projects' income, public-welfare posts'
allowances, corrections) and to projects (workshops' wages); and to who approved each list paying households
(subsidies' cycles, projects' distribution plans and payrolls), checked against the approvers' relatives (优亲厚友).

A handler is an edge: it reads the clock once and hands the moment to the use case. A payment naming a period of no
known form or a policy code outside the published ones raises ValueError: retried, then dead-lettered, to be replayed
once the contract is understood, never counted under a name nobody can read.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.households.domain import comparisons, conflicts, transfers
from services.households.domain.transfers import Transfer
from services.households.models import HouseholdOpenFinding
from services.households.rules.integrity import Approval, ApprovalSource
from services.households.rules.transfers import kind_of_payment, year_of_period
from services.households.rules.vocabulary import TransferKind
from services.households.settings import HouseholdsSettings
from shared.contracts.audit import SubjectKind
from shared.contracts.projects import IncomeDistributionApproved, PayrollApproved, WorkshopWagesRecorded
from shared.contracts.subsidies import (
    CycleApproved,
    PolicyCode,
    ProjectIncomeAllocated,
    SubsidyPaid,
    SubsidyPaymentCorrected,
)
from shared.messaging.cloudevents import Envelope
from shared.messaging.handlers import HandlerRegistry
from shared.open_findings import track_open_findings
from shared.timeutil import district_today, utcnow


def build_handlers(settings: HouseholdsSettings) -> HandlerRegistry:
    """The handlers of the events households consumes (no setting changes them yet)."""
    handlers = HandlerRegistry()
    track_open_findings(handlers, HouseholdOpenFinding, kind=SubjectKind.HOUSEHOLD, subject="household_id")
    _on_money(handlers)
    _on_approvals(handlers)
    return handlers


def _on_money(handlers: HandlerRegistry) -> None:
    @handlers.on(SubsidyPaid)
    async def on_subsidy_paid(session: AsyncSession, event: SubsidyPaid, envelope: Envelope) -> None:
        now = utcnow()
        receipt = await transfers.receive(session, _subsidy_transfer(event, envelope), now=now)
        await comparisons.after_payment(session, receipt, today=district_today(now), now=now)
        if event.cycle_id is not None:  # paid under an approved list: is the household the approver's relative's?
            ids = (event.cycle_id, event.household_id, event.payment_id)
            await conflicts.check_payment(session, *ids, now=now, today=district_today(now))

    @handlers.on(ProjectIncomeAllocated)
    async def on_income_allocated(session: AsyncSession, event: ProjectIncomeAllocated, envelope: Envelope) -> None:
        # A share counts in the year of the income's period (2020-12 income shared out in January counts in 2020);
        # an allocation published without a period, in the district's year when subsidies shared it out.
        year = year_of_period(event.period) if event.period else district_today(envelope.time).year
        transfer = Transfer(
            receipt_id=event.allocation_id,
            household_id=event.household_id,
            kind=TransferKind.PROJECT_INCOME,
            year=year,
            amount_fen=event.amount_fen,
            received_at=envelope.time,
            period=event.period,
            project_id=event.project_id,
        )
        await transfers.receive(session, transfer, now=utcnow())

    @handlers.on(SubsidyPaymentCorrected)
    async def on_payment_corrected(session: AsyncSession, event: SubsidyPaymentCorrected, envelope: Envelope) -> None:
        now = utcnow()
        await transfers.correct(session, _subsidy_transfer(event, envelope), now=now, today=district_today(now))

    @handlers.on(WorkshopWagesRecorded)
    async def on_workshop_wages(session: AsyncSession, event: WorkshopWagesRecorded, envelope: Envelope) -> None:
        # Paid by the workshop itself, not through subsidies: a wage of the month's year (工资性收入).
        transfer = Transfer(
            receipt_id=event.wage_id,
            household_id=event.household_id,
            kind=TransferKind.WAGE,
            year=year_of_period(event.period),
            amount_fen=event.amount_fen,
            received_at=envelope.time,
            period=event.period,
        )
        await transfers.receive(session, transfer, now=utcnow())


def _on_approvals(handlers: HandlerRegistry) -> None:
    """Who approved each list paying households (优亲厚友: an approver's relative among its payees). A cycle's list
    is checked as each payment arrives, and the payments already counted under it when it is approved; a plan's or
    a payroll's names its households, checked at once."""

    @handlers.on(CycleApproved)
    async def on_cycle_approved(session: AsyncSession, event: CycleApproved, _: Envelope) -> None:
        source = ApprovalSource.SUBSIDIES_CYCLE
        approval = Approval(event.cycle_id, source, event.approved_by, event.programme_code, event.period)
        now = utcnow()
        await conflicts.record_approval(session, approval, now=now)
        # Its payments may have come first (another partition key, a lagging or replayed consumer).
        await conflicts.check_paid_under(session, approval, now=now, today=district_today(now))

    @handlers.on(IncomeDistributionApproved)
    async def on_plan_approved(session: AsyncSession, event: IncomeDistributionApproved, _: Envelope) -> None:
        programme = PolicyCode.PROJECT_INCOME_SHARE.value  # what subsidies pays the plan's shares as
        approval = Approval(event.plan_id, ApprovalSource.PROJECTS_PLAN, event.approved_by, programme, event.period)
        await _approved_list(session, approval, [share.household_id for share in event.shares])

    @handlers.on(PayrollApproved)
    async def on_payroll_approved(session: AsyncSession, event: PayrollApproved, _: Envelope) -> None:
        programme = PolicyCode.PUBLIC_WELFARE_JOB_SUBSIDY.value
        source = ApprovalSource.PROJECTS_PAYROLL
        approval = Approval(event.payroll_id, source, event.approved_by, programme, event.period)
        await _approved_list(session, approval, [line.household_id for line in event.lines])


async def _approved_list(session: AsyncSession, approval: Approval, household_ids: list[UUID]) -> None:
    now = utcnow()
    await conflicts.record_approval(session, approval, now=now)
    await conflicts.check_approval(session, approval, household_ids, now=now, today=district_today(now))


def _subsidy_transfer(event: SubsidyPaid | SubsidyPaymentCorrected, envelope: Envelope) -> Transfer:
    """A subsidy payment (or its correction) as the household's income of its period's year: transfer income
    (转移性收入), asset income for a plan's share (资产收益), a wage for a post's allowance (工资性收入). A plan's
    share names no project: the plan is the cycle its payment was made in."""
    policy_code = PolicyCode(event.policy_code)
    return Transfer(
        receipt_id=event.payment_id,
        household_id=event.household_id,
        kind=kind_of_payment(policy_code),
        year=year_of_period(event.period),
        amount_fen=event.amount_fen,
        received_at=envelope.time,
        policy_code=policy_code,
        period=event.period,
        member_id=event.member_id if isinstance(event, SubsidyPaid) else None,
        cycle_id=event.cycle_id if isinstance(event, SubsidyPaid) else None,
    )

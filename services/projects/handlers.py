"""Projects reacts to households (the roll plans and posts are decided from), to subsidies (plan shares and post
allowances paid or taken back) and to audit (a project's open findings).

A handler is an edge: it reads the clock once and hands the moment to the use case.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.domain import payroll, plans, roll
from services.projects.models import ProjectOpenFinding
from services.projects.settings import ProjectsSettings
from shared.contracts.audit import SubjectKind
from shared.contracts.households import (
    HouseholdRegistered,
    HouseholdStatusChanged,
    HouseholdUpdated,
    MemberAdded,
    MemberDied,
    MemberDisabilityRecorded,
)
from shared.contracts.subsidies import PolicyCode, SubsidyPaid, SubsidyPaymentCorrected
from shared.messaging.cloudevents import Envelope
from shared.messaging.handlers import HandlerRegistry
from shared.open_findings import track_open_findings
from shared.timeutil import utcnow


def build_handlers(settings: ProjectsSettings) -> HandlerRegistry:
    """Projects' event handlers: the household roll, payments of plans and payrolls, open findings."""
    handlers = HandlerRegistry()
    _on_households(handlers)
    _on_members(handlers)
    _on_payments(handlers)
    track_open_findings(handlers, ProjectOpenFinding, kind=SubjectKind.PROJECT, subject="project_id")
    return handlers


def _on_households(handlers: HandlerRegistry) -> None:
    @handlers.on(HouseholdRegistered)
    async def on_registered(session: AsyncSession, event: HouseholdRegistered, _: Envelope) -> None:
        await roll.note_household(
            session,
            household_id=event.household_id,
            area_code=event.area_code,
            member_count=event.member_count,
            now=utcnow(),
        )

    @handlers.on(HouseholdUpdated)
    async def on_updated(session: AsyncSession, event: HouseholdUpdated, _: Envelope) -> None:
        await roll.move_household(session, household_id=event.household_id, area_code=event.area_code, now=utcnow())

    @handlers.on(HouseholdStatusChanged)
    async def on_status_changed(session: AsyncSession, event: HouseholdStatusChanged, _: Envelope) -> None:
        await roll.change_status(session, household_id=event.household_id, status=event.to_status, now=utcnow())


def _on_members(handlers: HandlerRegistry) -> None:
    @handlers.on(MemberAdded)
    async def on_member_added(session: AsyncSession, event: MemberAdded, _: Envelope) -> None:
        await roll.add_member(
            session,
            household_id=event.household_id,
            member_id=event.member_id,
            birth_date=event.birth_date,
            now=utcnow(),
        )

    @handlers.on(MemberDisabilityRecorded)
    async def on_disability(session: AsyncSession, event: MemberDisabilityRecorded, _: Envelope) -> None:
        await roll.record_disability(
            session, household_id=event.household_id, member_id=event.member_id, grade=event.grade
        )

    @handlers.on(MemberDied)
    async def on_member_died(session: AsyncSession, event: MemberDied, _: Envelope) -> None:
        await roll.member_died(
            session,
            household_id=event.household_id,
            member_id=event.member_id,
            died_on=event.died_on,
            now=utcnow(),
        )


def _on_payments(handlers: HandlerRegistry) -> None:
    # Subsidies pays an approved plan as a cycle of `project_income_share` and a payroll as a cycle of
    # `public_welfare_job_subsidy`, each with the plan's or payroll's id as the cycle's id.
    @handlers.on(SubsidyPaid)
    async def on_paid(session: AsyncSession, event: SubsidyPaid, _: Envelope) -> None:
        if event.cycle_id is None:
            return
        if event.policy_code == PolicyCode.PROJECT_INCOME_SHARE:
            await plans.share_paid(
                session,
                plan_id=event.cycle_id,
                household_id=event.household_id,
                payment_id=event.payment_id,
                amount_fen=event.amount_fen,
                now=utcnow(),
            )
        elif event.policy_code == PolicyCode.PUBLIC_WELFARE_JOB_SUBSIDY and event.member_id is not None:
            await payroll.line_paid(
                session,
                payroll_id=event.cycle_id,
                member_id=event.member_id,
                payment_id=event.payment_id,
                amount_fen=event.amount_fen,
                now=utcnow(),
            )

    @handlers.on(SubsidyPaymentCorrected)
    async def on_corrected(session: AsyncSession, event: SubsidyPaymentCorrected, _: Envelope) -> None:
        if event.policy_code == PolicyCode.PROJECT_INCOME_SHARE:
            await plans.share_reversed(session, payment_id=event.payment_id, now=utcnow())
        elif event.policy_code == PolicyCode.PUBLIC_WELFARE_JOB_SUBSIDY:
            await payroll.line_reversed(session, payment_id=event.payment_id, now=utcnow())

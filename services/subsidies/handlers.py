"""Subsidies reacts to households (the facts eligibility rules read) and to projects (approved distribution plans and
payrolls to pay).

A handler is an edge: it reads the clock once and hands the moment to the use case. A fact whose event carries no
day of its own (schooling, medical cover) changed on the district's day the event was made (its envelope's time).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.subsidies.domain import households, project_orders
from services.subsidies.rules import fact_history as history
from services.subsidies.rules.project_orders import payroll_order, plan_order
from services.subsidies.settings import SubsidiesSettings
from shared.contracts.households import (
    HouseholdRegistered,
    HouseholdStatusChanged,
    HouseholdUpdated,
    HousingAppraised,
    HousingRenovated,
    MemberAdded,
    MemberDied,
    MemberDisabilityRecorded,
    MemberMedicalCoverageChanged,
    MemberSchoolingChanged,
    MinimumAllowanceChanged,
    MonitoringEpisodeClosed,
    MonitoringEpisodeOpened,
    RiskFlagRaised,
)
from shared.contracts.projects import IncomeDistributionApproved, PayrollApproved
from shared.messaging.cloudevents import Envelope
from shared.messaging.handlers import HandlerRegistry
from shared.timeutil import district_today, utcnow


def build_handlers(settings: SubsidiesSettings) -> HandlerRegistry:
    """Subsidies' event handlers: household and member facts, projects' approved plans and payrolls."""
    handlers = HandlerRegistry()
    _on_registry(handlers)
    _on_household_facts(handlers)
    _on_monitoring(handlers)
    _on_member_facts(handlers)
    _on_projects(handlers)
    return handlers


def _on_registry(handlers: HandlerRegistry) -> None:
    @handlers.on(HouseholdRegistered)
    async def on_household_registered(session: AsyncSession, event: HouseholdRegistered, _: Envelope) -> None:
        await households.note_household(
            session,
            household_id=event.household_id,
            area_code=event.area_code,
            member_count=event.member_count,
            now=utcnow(),
        )

    @handlers.on(HouseholdUpdated)
    async def on_household_updated(session: AsyncSession, event: HouseholdUpdated, _: Envelope) -> None:
        await households.move_household(
            session, household_id=event.household_id, area_code=event.area_code, now=utcnow()
        )

    @handlers.on(MemberAdded)
    async def on_member_added(session: AsyncSession, event: MemberAdded, _: Envelope) -> None:
        facts = {
            "birth_date": event.birth_date,
            "relationship_to_head": event.relationship_to_head,
            "name_masked": event.name_masked,
            "id_masked": event.id_masked,
        }
        await households.add_member(
            session, household_id=event.household_id, member_id=event.member_id, facts=facts, now=utcnow()
        )

    @handlers.on(MemberDied)
    async def on_member_died(session: AsyncSession, event: MemberDied, _: Envelope) -> None:
        await households.member_died(
            session, household_id=event.household_id, member_id=event.member_id, died_on=event.died_on, now=utcnow()
        )


def _on_household_facts(handlers: HandlerRegistry) -> None:
    @handlers.on(HouseholdStatusChanged)
    async def on_status_changed(session: AsyncSession, event: HouseholdStatusChanged, _: Envelope) -> None:
        await households.change_status(
            session,
            household_id=event.household_id,
            previous=event.from_status,
            status=event.to_status,
            since=event.effective_on,
            now=utcnow(),
        )

    @handlers.on(MinimumAllowanceChanged)
    async def on_allowance_changed(session: AsyncSession, event: MinimumAllowanceChanged, _: Envelope) -> None:
        await households.change_allowance(
            session, household_id=event.household_id, allowance=event.status, since=event.effective_on, now=utcnow()
        )

    @handlers.on(HousingAppraised)
    async def on_housing_appraised(session: AsyncSession, event: HousingAppraised, _: Envelope) -> None:
        await households.grade_housing(
            session, household_id=event.household_id, grade=event.grade, on=event.appraised_on, now=utcnow()
        )

    @handlers.on(HousingRenovated)
    async def on_housing_renovated(session: AsyncSession, event: HousingRenovated, _: Envelope) -> None:
        await households.grade_housing(
            session, household_id=event.household_id, grade=event.new_grade, on=event.completed_on, now=utcnow()
        )


def _on_monitoring(handlers: HandlerRegistry) -> None:
    @handlers.on(MonitoringEpisodeOpened)
    async def on_episode_opened(session: AsyncSession, event: MonitoringEpisodeOpened, _: Envelope) -> None:
        await households.open_episode(
            session, household_id=event.household_id, episode_id=event.episode_id, on=event.opened_on, now=utcnow()
        )

    @handlers.on(RiskFlagRaised)
    async def on_risk_flag_raised(session: AsyncSession, event: RiskFlagRaised, _: Envelope) -> None:
        await households.raise_flag(
            session,
            household_id=event.household_id,
            episode_id=event.episode_id,
            kind=event.kind,
            on=event.raised_on,
            now=utcnow(),
        )

    @handlers.on(MonitoringEpisodeClosed)
    async def on_episode_closed(session: AsyncSession, event: MonitoringEpisodeClosed, _: Envelope) -> None:
        await households.close_episode(
            session, household_id=event.household_id, episode_id=event.episode_id, on=event.closed_on, now=utcnow()
        )


def _on_member_facts(handlers: HandlerRegistry) -> None:
    @handlers.on(MemberDisabilityRecorded)
    async def on_disability_recorded(session: AsyncSession, event: MemberDisabilityRecorded, _: Envelope) -> None:
        await households.change_member(
            session,
            household_id=event.household_id,
            member_id=event.member_id,
            facts={history.DISABILITY_GRADE: event.grade},
            on=event.certified_on,
            now=utcnow(),
        )

    @handlers.on(MemberSchoolingChanged)
    async def on_schooling_changed(session: AsyncSession, event: MemberSchoolingChanged, envelope: Envelope) -> None:
        await households.change_member(
            session,
            household_id=event.household_id,
            member_id=event.member_id,
            facts={history.ENROLMENT: event.enrolment, history.SCHOOL_STAGE: event.school_stage},
            on=district_today(envelope.time),
            now=utcnow(),
            undated=True,
        )

    @handlers.on(MemberMedicalCoverageChanged)
    async def on_medical_cover_changed(
        session: AsyncSession, event: MemberMedicalCoverageChanged, envelope: Envelope
    ) -> None:
        await households.change_member(
            session,
            household_id=event.household_id,
            member_id=event.member_id,
            facts={
                history.MEDICAL_INSURED: event.medical_insured,
                history.PREMIUM_SUBSIDISED: event.premium_subsidised,
            },
            on=district_today(envelope.time),
            now=utcnow(),
            undated=True,
        )


def _on_projects(handlers: HandlerRegistry) -> None:
    @handlers.on(IncomeDistributionApproved)
    async def on_plan_approved(session: AsyncSession, event: IncomeDistributionApproved, _: Envelope) -> None:
        await project_orders.take_order(session, plan_order(event), now=utcnow())

    @handlers.on(PayrollApproved)
    async def on_payroll_approved(session: AsyncSession, event: PayrollApproved, _: Envelope) -> None:
        await project_orders.take_order(session, payroll_order(event), now=utcnow())

"""Subsidies reacts to households (the facts it decides from) and to projects (income to distribute).

A handler is an edge: it reads the clock once and hands the moment to the use case.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.subsidies.domain import distributions, entitlements, households
from services.subsidies.domain.entitlements import Holder
from services.subsidies.settings import SubsidiesSettings
from shared.contracts.households import (
    HouseholdRegistered,
    HouseholdUpdated,
    MemberAdded,
    MemberDisabilityRecorded,
    MemberSchoolingChanged,
    MinimumAllowanceChanged,
    MonitoringEpisodeClosed,
    RiskFlagRaised,
)
from shared.contracts.projects import ProjectIncomeRecorded, ProjectRegistered
from shared.messaging.cloudevents import Envelope
from shared.messaging.handlers import HandlerRegistry
from shared.timeutil import district_today, utcnow


def build_handlers(settings: SubsidiesSettings) -> HandlerRegistry:
    """Subsidies' event handlers: eligibility facts, entitlements, project areas and income distribution."""
    handlers = HandlerRegistry()
    _on_registry_facts(handlers)
    _on_entitlement_facts(handlers)
    _on_projects(handlers)
    return handlers


def _on_registry_facts(handlers: HandlerRegistry) -> None:
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
        await households.add_member(session, household_id=event.household_id, member_id=event.member_id, now=utcnow())


def _on_entitlement_facts(handlers: HandlerRegistry) -> None:
    @handlers.on(MinimumAllowanceChanged)
    async def on_allowance_changed(session: AsyncSession, event: MinimumAllowanceChanged, _: Envelope) -> None:
        await entitlements.note_allowance(
            session, Holder(event.household_id), event.status, on=event.effective_on, now=utcnow()
        )

    @handlers.on(MemberDisabilityRecorded)
    async def on_disability_recorded(session: AsyncSession, event: MemberDisabilityRecorded, _: Envelope) -> None:
        holder = Holder(event.household_id, event.member_id)
        await entitlements.note_disability(session, holder, event.grade, on=event.certified_on, now=utcnow())

    @handlers.on(MemberSchoolingChanged)
    async def on_schooling_changed(session: AsyncSession, event: MemberSchoolingChanged, envelope: Envelope) -> None:
        # The event names no date: the enrolment changed when households recorded it.
        holder = Holder(event.household_id, event.member_id)
        await entitlements.note_schooling(
            session, holder, event.enrolment, on=district_today(envelope.time), now=utcnow()
        )

    @handlers.on(RiskFlagRaised)
    async def on_risk_flag_raised(session: AsyncSession, event: RiskFlagRaised, _: Envelope) -> None:
        await entitlements.note_risk_flag(
            session, Holder(event.household_id), event.kind, on=event.raised_on, now=utcnow()
        )

    @handlers.on(MonitoringEpisodeClosed)
    async def on_monitoring_closed(session: AsyncSession, event: MonitoringEpisodeClosed, _: Envelope) -> None:
        await entitlements.note_monitoring_closed(session, Holder(event.household_id), on=event.closed_on, now=utcnow())


def _on_projects(handlers: HandlerRegistry) -> None:
    @handlers.on(ProjectRegistered)
    async def on_project_registered(session: AsyncSession, event: ProjectRegistered, _: Envelope) -> None:
        await distributions.note_project_area(session, project_id=event.project_id, area_code=event.area_code)

    @handlers.on(ProjectIncomeRecorded)
    async def on_income_recorded(session: AsyncSession, event: ProjectIncomeRecorded, _: Envelope) -> None:
        await distributions.distribute_income(session, event, now=utcnow())

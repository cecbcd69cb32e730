"""Subsidies reacts to households (the facts it decides from) and to projects (income to distribute)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.subsidies import coverage, domain
from services.subsidies.coverage import Holder
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
from shared.timeutil import district_today


def build_handlers(settings: SubsidiesSettings) -> HandlerRegistry:
    """Subsidies' event handlers: eligibility facts, entitlements, project areas and income distribution."""
    handlers = HandlerRegistry()

    @handlers.on(HouseholdRegistered)
    async def on_household_registered(session: AsyncSession, event: HouseholdRegistered, _: Envelope) -> None:
        await domain.note_household(
            session,
            household_id=event.household_id,
            area_code=event.area_code,
            member_count=event.member_count,
        )

    @handlers.on(HouseholdUpdated)
    async def on_household_updated(session: AsyncSession, event: HouseholdUpdated, _: Envelope) -> None:
        await domain.move_household(session, household_id=event.household_id, area_code=event.area_code)

    @handlers.on(MemberAdded)
    async def on_member_added(session: AsyncSession, event: MemberAdded, _: Envelope) -> None:
        await domain.add_member(session, household_id=event.household_id, member_id=event.member_id)

    @handlers.on(MinimumAllowanceChanged)
    async def on_allowance_changed(session: AsyncSession, event: MinimumAllowanceChanged, _: Envelope) -> None:
        await coverage.note_allowance(session, Holder(event.household_id), event.status, on=event.effective_on)

    @handlers.on(MemberDisabilityRecorded)
    async def on_disability_recorded(session: AsyncSession, event: MemberDisabilityRecorded, _: Envelope) -> None:
        holder = Holder(event.household_id, event.member_id)
        await coverage.note_disability(session, holder, event.grade, on=event.certified_on)

    @handlers.on(MemberSchoolingChanged)
    async def on_schooling_changed(session: AsyncSession, event: MemberSchoolingChanged, envelope: Envelope) -> None:
        # The event names no date: the enrolment changed when households recorded it.
        holder = Holder(event.household_id, event.member_id)
        await coverage.note_schooling(session, holder, event.enrolment, on=district_today(envelope.time))

    @handlers.on(RiskFlagRaised)
    async def on_risk_flag_raised(session: AsyncSession, event: RiskFlagRaised, _: Envelope) -> None:
        await coverage.note_risk_flag(session, Holder(event.household_id), event.kind, on=event.raised_on)

    @handlers.on(MonitoringEpisodeClosed)
    async def on_monitoring_closed(session: AsyncSession, event: MonitoringEpisodeClosed, _: Envelope) -> None:
        await coverage.note_monitoring_closed(session, Holder(event.household_id), on=event.closed_on)

    @handlers.on(ProjectRegistered)
    async def on_project_registered(session: AsyncSession, event: ProjectRegistered, _: Envelope) -> None:
        await domain.note_project_area(session, project_id=event.project_id, area_code=event.area_code)

    @handlers.on(ProjectIncomeRecorded)
    async def on_income_recorded(session: AsyncSession, event: ProjectIncomeRecorded, _: Envelope) -> None:
        await domain.distribute_income(session, event)

    return handlers

"""Audit consumes problems from every service (a visit's, a department's data, a relapse-risk flag, a project
inspection's, a subsidy coverage check's or leakage check's); each becomes a finding (问题 -> 整改 -> 线索移交). It
also keeps the registered households and the visits that reach them, which campaigns' coverage (全覆盖) counts.

Every event of the other services' topics is also appended to the tamper-evident log, in the same inbox
transaction as its effect, also those audit keeps no state for (a subsidy cycle approved, `CycleApproved`; a bank
file exported with full account numbers, `BankFileExported`). Audit's own events are logged when they are made
(`events.publish`), in the transaction of the change, so audit does not consume its own topic back. The handlers
are an edge: each reads the clock once and passes it to the use case.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import TypedDict

from sqlalchemy.ext.asyncio import AsyncSession

from services.audit import events
from services.audit.domain import coverage, findings, responsibility
from services.audit.rules.findings import ProblemFacts, leak_code, unpaid_policy_code
from services.audit.rules.periods import district_day
from services.audit.rules.responsibility import LATE_REPORTING
from services.audit.settings import AuditSettings
from shared.contracts import AUDIT_TOPIC, SERVICE_TOPICS
from shared.contracts.accountability import ResponsiblePerson
from shared.contracts.audit import SubjectKind
from shared.contracts.households import (
    HouseholdProblemFound,
    HouseholdRegistered,
    HouseholdUpdated,
    ProblemCategory,
    VisitRecorded,
)
from shared.contracts.projects import ProjectProblemFound
from shared.contracts.subsidies import SubsidyCoverageGap, SubsidyLeakFound
from shared.messaging.cloudevents import Envelope
from shared.messaging.handlers import HandlerRegistry
from shared.timeutil import utcnow

LOGGED_TOPICS = tuple(topic for topic in SERVICE_TOPICS if topic != AUDIT_TOPIC)


class _Accountability(TypedDict):
    responsible: ResponsiblePerson | None
    found_on: date
    reported_on: date


def _accountability(
    responsible: ResponsiblePerson | None, found_on: date | None, envelope: Envelope
) -> _Accountability:
    """Who the source names and when the problem was found (an older publisher's event: the day it was published),
    and the day it was reported: the event's, not audit's (a consumer catching up makes no one late)."""
    reported_on = district_day(envelope.time)
    return _Accountability(responsible=responsible, found_on=found_on or reported_on, reported_on=reported_on)


async def _load(session: AsyncSession, keys: list[findings.OpenFindingKey], unnamed: Sequence[str]) -> None:
    """A batch's open findings, and the officers of the areas of its problems no one is named for (`unnamed`), in
    one query each. A problem reported late opens a second finding on its subject (`LATE_REPORTING`): looked up too."""
    await findings.load_open_findings(session, keys + [(kind, subject, LATE_REPORTING) for kind, subject, _ in keys])
    await responsibility.load_area_officers(session, unnamed)


def build_handlers(settings: AuditSettings, clock: Callable[[], datetime] = utcnow) -> HandlerRegistry:
    """Audit's event handlers, with the district's deadline policy."""
    handlers = HandlerRegistry()
    policy = settings.deadline_policy()

    @handlers.observe(*LOGGED_TOPICS)
    async def log_event(session: AsyncSession, envelope: Envelope, topic: str) -> None:
        events.log_received(session, envelope, topic)

    @handlers.prepare(HouseholdProblemFound)
    async def load_households_findings(session: AsyncSession, events: list[HouseholdProblemFound]) -> None:
        keys = [(SubjectKind.HOUSEHOLD.value, str(e.household_id), e.code) for e in events]
        await _load(session, keys, [e.area_code for e in events if e.responsible is None])

    @handlers.prepare(ProjectProblemFound)
    async def load_projects_findings(session: AsyncSession, events: list[ProjectProblemFound]) -> None:
        keys = [(SubjectKind.PROJECT.value, str(e.project_id), e.code) for e in events]
        await _load(session, keys, [e.area_code for e in events if e.responsible is None])

    @handlers.prepare(SubsidyCoverageGap)
    async def load_coverage_findings(session: AsyncSession, events: list[SubsidyCoverageGap]) -> None:
        keys = [(SubjectKind.HOUSEHOLD.value, str(e.household_id), unpaid_policy_code(e.policy_code)) for e in events]
        await _load(session, keys, [e.area_code for e in events if e.responsible is None])

    @handlers.prepare(SubsidyLeakFound)
    async def load_leak_findings(session: AsyncSession, events: list[SubsidyLeakFound]) -> None:
        keys = [(SubjectKind.PAYMENT.value, str(e.payment_id), leak_code(e.kind)) for e in events]
        await _load(session, keys, [e.area_code for e in events if e.responsible is None])

    @handlers.on(HouseholdProblemFound)
    async def on_household_problem(session: AsyncSession, event: HouseholdProblemFound, envelope: Envelope) -> None:
        facts = ProblemFacts(
            subject_kind=SubjectKind.HOUSEHOLD,
            subject_id=str(event.household_id),
            area_code=event.area_code,
            category=event.category,
            code=event.code,
            description=event.description,
            source_ref=str(event.problem_id),
            housing_grade=event.housing_grade,
            # A conflict of interest (优亲厚友) is stated severe by households: referred at once.
            stated_severity=event.severity,
            found_by=event.found_by,
            **_accountability(event.responsible, event.found_on, envelope),
        )
        await findings.record_finding(session, facts, policy=policy, now=clock(), source="households")

    @handlers.on(ProjectProblemFound)
    async def on_project_problem(session: AsyncSession, event: ProjectProblemFound, envelope: Envelope) -> None:
        facts = ProblemFacts(
            subject_kind=SubjectKind.PROJECT,
            subject_id=str(event.project_id),
            area_code=event.area_code,
            category=ProblemCategory.PROJECT,
            code=event.code,
            description=event.description,
            source_ref=str(event.problem_id),
            # The inspector's (or the check's) severity: an asset missing or income diverted, severe, is referred to
            # the discipline commission at once. Unstated (older publishers), audit grades the problem itself.
            stated_severity=event.severity,
            found_by=event.found_by,
            **_accountability(event.responsible, event.found_on, envelope),
        )
        await findings.record_finding(session, facts, policy=policy, now=clock(), source="projects")

    @handlers.on(SubsidyCoverageGap)
    async def on_coverage_gap(session: AsyncSession, event: SubsidyCoverageGap, envelope: Envelope) -> None:
        who = f"member {event.member_id}" if event.member_id else "the household"
        facts = ProblemFacts(
            subject_kind=SubjectKind.HOUSEHOLD,
            subject_id=str(event.household_id),
            area_code=event.area_code,
            category=ProblemCategory.POLICY_DELIVERY,
            code=unpaid_policy_code(event.policy_code),
            description=f"{event.policy_code} not paid to {who} for {event.period} (coverage check)",
            source_ref=str(event.check_id),
            **_accountability(event.responsible, event.found_on, envelope),
        )
        await findings.record_finding(session, facts, policy=policy, now=clock(), source="subsidies")

    @handlers.on(SubsidyLeakFound)
    async def on_leak(session: AsyncSession, event: SubsidyLeakFound, envelope: Envelope) -> None:
        facts = ProblemFacts(
            subject_kind=SubjectKind.PAYMENT,
            subject_id=str(event.payment_id),
            area_code=event.area_code,
            category=ProblemCategory.FUNDS,
            code=leak_code(event.kind),
            description=f"{event.policy_code} {event.period} paid to household {event.household_id}: {event.detail}",
            source_ref=str(event.leak_id),
            **_accountability(event.responsible, event.found_on, envelope),
        )
        await findings.record_finding(session, facts, policy=policy, now=clock(), source="subsidies")

    _follow_coverage(handlers)
    return handlers


def _follow_coverage(handlers: HandlerRegistry) -> None:
    """The households audit knows and the visits that reach them: what campaigns' coverage (全覆盖) counts. A
    household is registered at the time its registration was made (the envelope's)."""

    @handlers.prepare(HouseholdRegistered)
    async def load_registered(session: AsyncSession, events: list[HouseholdRegistered]) -> None:
        await coverage.load_known_households(session, [e.household_id for e in events])

    @handlers.on(HouseholdRegistered)
    async def on_registered(session: AsyncSession, event: HouseholdRegistered, envelope: Envelope) -> None:
        await coverage.note_household(
            session, household_id=event.household_id, area_code=event.area_code, registered_at=envelope.time
        )

    @handlers.on(HouseholdUpdated)
    async def on_updated(session: AsyncSession, event: HouseholdUpdated, envelope: Envelope) -> None:
        await coverage.move_household(
            session, household_id=event.household_id, area_code=event.area_code, seen_at=envelope.time
        )

    @handlers.on(VisitRecorded)
    async def on_visit(session: AsyncSession, event: VisitRecorded, _: Envelope) -> None:
        await coverage.count_visit(
            session,
            household_id=event.household_id,
            visit_id=event.visit_id,
            area_code=event.area_code,
            visit_round=event.round,
            visited_on=event.visited_on,
        )

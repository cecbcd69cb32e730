"""Audit consumes problems from every service (a visit's, a department's data, a relapse-risk flag, a project
inspection's, a subsidy coverage check's or leakage check's); each becomes a finding (问题 -> 整改 -> 线索移交).

Every event of the other services' topics is also appended to the tamper-evident log, in the same inbox
transaction as its effect, also those audit keeps no state for (a subsidy cycle approved, `CycleApproved`; a bank
file exported with full account numbers, `BankFileExported`). Audit's own events are logged when they are made
(`events.publish`), in the transaction of the change, so audit does not consume its own topic back. The handlers
are an edge: each reads the clock once and passes it to the use case.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.audit import events
from services.audit.domain import findings
from services.audit.rules.findings import ProblemFacts, leak_code, unpaid_policy_code
from services.audit.settings import AuditSettings
from shared.contracts import AUDIT_TOPIC, SERVICE_TOPICS
from shared.contracts.audit import SubjectKind
from shared.contracts.households import HouseholdProblemFound, ProblemCategory
from shared.contracts.projects import ProjectProblemFound
from shared.contracts.subsidies import SubsidyCoverageGap, SubsidyLeakFound
from shared.messaging.cloudevents import Envelope
from shared.messaging.handlers import HandlerRegistry
from shared.timeutil import utcnow

LOGGED_TOPICS = tuple(topic for topic in SERVICE_TOPICS if topic != AUDIT_TOPIC)


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
        await findings.load_open_findings(session, keys)

    @handlers.prepare(ProjectProblemFound)
    async def load_projects_findings(session: AsyncSession, events: list[ProjectProblemFound]) -> None:
        keys = [(SubjectKind.PROJECT.value, str(e.project_id), e.code) for e in events]
        await findings.load_open_findings(session, keys)

    @handlers.prepare(SubsidyCoverageGap)
    async def load_coverage_findings(session: AsyncSession, events: list[SubsidyCoverageGap]) -> None:
        keys = [(SubjectKind.HOUSEHOLD.value, str(e.household_id), unpaid_policy_code(e.policy_code)) for e in events]
        await findings.load_open_findings(session, keys)

    @handlers.prepare(SubsidyLeakFound)
    async def load_leak_findings(session: AsyncSession, events: list[SubsidyLeakFound]) -> None:
        keys = [(SubjectKind.PAYMENT.value, str(e.payment_id), leak_code(e.kind)) for e in events]
        await findings.load_open_findings(session, keys)

    @handlers.on(HouseholdProblemFound)
    async def on_household_problem(session: AsyncSession, event: HouseholdProblemFound, _: Envelope) -> None:
        facts = ProblemFacts(
            subject_kind=SubjectKind.HOUSEHOLD,
            subject_id=str(event.household_id),
            area_code=event.area_code,
            category=event.category,
            code=event.code,
            description=event.description,
            source_ref=str(event.problem_id),
            housing_grade=event.housing_grade,
        )
        await findings.record_finding(session, facts, policy=policy, now=clock(), source="households")

    @handlers.on(ProjectProblemFound)
    async def on_project_problem(session: AsyncSession, event: ProjectProblemFound, _: Envelope) -> None:
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
        )
        await findings.record_finding(session, facts, policy=policy, now=clock(), source="projects")

    @handlers.on(SubsidyCoverageGap)
    async def on_coverage_gap(session: AsyncSession, event: SubsidyCoverageGap, _: Envelope) -> None:
        who = f"member {event.member_id}" if event.member_id else "the household"
        facts = ProblemFacts(
            subject_kind=SubjectKind.HOUSEHOLD,
            subject_id=str(event.household_id),
            area_code=event.area_code,
            category=ProblemCategory.POLICY_DELIVERY,
            code=unpaid_policy_code(event.policy_code),
            description=f"{event.policy_code} not paid to {who} for {event.period} (coverage check)",
            source_ref=str(event.check_id),
        )
        await findings.record_finding(session, facts, policy=policy, now=clock(), source="subsidies")

    @handlers.on(SubsidyLeakFound)
    async def on_leak(session: AsyncSession, event: SubsidyLeakFound, _: Envelope) -> None:
        facts = ProblemFacts(
            subject_kind=SubjectKind.PAYMENT,
            subject_id=str(event.payment_id),
            area_code=event.area_code,
            category=ProblemCategory.FUNDS,
            code=leak_code(event.kind),
            description=f"{event.policy_code} {event.period} paid to household {event.household_id}: {event.detail}",
            source_ref=str(event.leak_id),
        )
        await findings.record_finding(session, facts, policy=policy, now=clock(), source="subsidies")

    return handlers

"""Audit consumes problems from every service; each becomes a finding (问题 -> 整改 -> 线索移交)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.audit import domain
from services.audit.rules import DeadlinePolicy, ProblemFacts
from services.audit.settings import AuditSettings
from shared.contracts.audit import SubjectKind
from shared.contracts.households import HouseholdProblemFound, ProblemCategory
from shared.contracts.projects import ProjectProblemFound
from shared.messaging.cloudevents import Envelope
from shared.messaging.handlers import HandlerRegistry
from shared.timeutil import utcnow


def deadline_policy(settings: AuditSettings) -> DeadlinePolicy:
    return DeadlinePolicy(settings.deadline_days_general, settings.deadline_days_serious, settings.deadline_days_severe)


def build_handlers(settings: AuditSettings) -> HandlerRegistry:
    """Audit's event handlers, with the district's deadline policy."""
    handlers = HandlerRegistry()
    policy = deadline_policy(settings)

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
        await domain.record_finding(session, facts, policy=policy, now=utcnow())

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
        )
        await domain.record_finding(session, facts, policy=policy, now=utcnow())

    return handlers

"""Projects reacts to audit: a project's open problems, as audit tracks them."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import ProjectOpenProblem
from services.projects.settings import ProjectsSettings
from shared.contracts.audit import (
    DisciplineReferralMade,
    FindingEvent,
    FindingRecorded,
    RectificationOpened,
    SubjectKind,
)
from shared.messaging.cloudevents import Envelope
from shared.messaging.handlers import HandlerRegistry
from shared.timeutil import utcnow


def build_handlers(settings: ProjectsSettings) -> HandlerRegistry:
    """Projects' event handlers: the open-problem read model fed by `audit.events`."""
    handlers = HandlerRegistry()

    @handlers.on(FindingRecorded)
    async def on_finding_recorded(session: AsyncSession, event: FindingRecorded, _: Envelope) -> None:
        if event.subject_kind is not SubjectKind.PROJECT:
            return
        if await session.get(ProjectOpenProblem, event.finding_id) is not None:
            return  # audit re-sent a finding we already track
        session.add(
            ProjectOpenProblem(
                finding_id=event.finding_id, project_id=UUID(event.subject_id), category=event.category,
                code=event.code, severity=event.severity, description=event.description,
            )
        )

    @handlers.on(RectificationOpened)
    async def on_rectification_opened(session: AsyncSession, event: RectificationOpened, _: Envelope) -> None:
        problem = await _tracked(session, event)
        if problem is not None:
            problem.rectification_deadline = event.deadline
            problem.updated_at = utcnow()

    @handlers.on(DisciplineReferralMade)
    async def on_referral_made(session: AsyncSession, event: DisciplineReferralMade, _: Envelope) -> None:
        problem = await _tracked(session, event)
        if problem is not None:
            problem.referred = True
            problem.updated_at = utcnow()

    return handlers


async def _tracked(session: AsyncSession, event: FindingEvent) -> ProjectOpenProblem | None:
    """The open problem an audit event is about, when it concerns a project."""
    if event.subject_kind is not SubjectKind.PROJECT:
        return None
    return await session.get(ProjectOpenProblem, event.finding_id)

"""Households reacts to audit: a household's open problems, as audit tracks them."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.households.models import OpenProblem
from shared.contracts.audit import DisciplineReferralMade, FindingRecorded, RectificationOpened, SubjectKind
from shared.messaging.cloudevents import Envelope
from shared.messaging.handlers import HandlerRegistry
from shared.timeutil import utcnow

handlers = HandlerRegistry()


@handlers.on(FindingRecorded)
async def on_finding_recorded(session: AsyncSession, event: FindingRecorded, _: Envelope) -> None:
    if event.subject_kind is not SubjectKind.HOUSEHOLD:
        return
    session.add(
        OpenProblem(
            finding_id=event.finding_id,
            household_id=UUID(event.subject_id),
            category=event.category,
            code=event.code,
            severity=event.severity,
            description=event.description,
        )
    )


@handlers.on(RectificationOpened)
async def on_rectification_opened(session: AsyncSession, event: RectificationOpened, _: Envelope) -> None:
    problem = await session.get(OpenProblem, event.finding_id)
    if problem is not None:
        problem.rectification_deadline = event.deadline
        problem.updated_at = utcnow()


@handlers.on(DisciplineReferralMade)
async def on_referral_made(session: AsyncSession, event: DisciplineReferralMade, _: Envelope) -> None:
    problem = await session.get(OpenProblem, event.finding_id)
    if problem is not None:
        problem.referred = True
        problem.updated_at = utcnow()

"""A service's open findings as audit tracks them (问题整改台账): a read model fed by `audit.events`.

Households and projects each keep one for their own subjects; audit stays the owner of findings. An open finding
appears when audit records the finding, follows its rectification deadline and referral, and is closed when the
rectification is closed. Events may arrive late (one replayed from a dead-letter topic after those that followed
it): a closed one is kept as closed, so a late recording does not reopen it, and a change older than the last
one applied is ignored (by the events' own times).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from shared.contracts.audit import (
    DisciplineReferralMade,
    FindingEvent,
    FindingRecorded,
    FindingRecurred,
    RectificationClosed,
    RectificationOpened,
    RectificationRejected,
    RectificationReopened,
    RectificationRescheduled,
    SubjectKind,
)
from shared.messaging.cloudevents import Envelope
from shared.messaging.handlers import HandlerRegistry
from shared.timeutil import UTCDateTime, utcnow


class OpenFindingFields(SQLModel):
    """The columns of an open-finding table; the service's table adds its subject's id column."""

    finding_id: UUID = Field(primary_key=True)
    category: str = Field(max_length=30)
    code: str = Field(max_length=60)
    severity: str = Field(max_length=20)
    description: str = Field(max_length=1000)
    rectification_deadline: datetime | None = Field(default=None, sa_type=UTCDateTime)
    referred: bool = False
    closed: bool = Field(default=False, description="rectification closed: kept so that a late event cannot reopen it")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, description="time of the last event")


P = TypeVar("P", bound=OpenFindingFields)


def track_open_findings(handlers: HandlerRegistry, model: type[P], *, kind: SubjectKind, subject: str) -> None:
    """Keep `model` (whose `subject` column holds the subject's id) in step with audit's findings of `kind`."""

    async def tracked(session: AsyncSession, event: FindingEvent) -> P | None:
        if event.subject_kind is not kind:
            return None
        return await session.get(model, event.finding_id)

    @handlers.on(FindingRecorded)
    async def recorded(session: AsyncSession, event: FindingRecorded, envelope: Envelope) -> None:
        if event.subject_kind is not kind or await session.get(model, event.finding_id) is not None:
            return  # known already, open or closed
        session.add(
            _row(
                model,
                event,
                subject,
                envelope,
                category=event.category,
                code=event.code,
                severity=event.severity,
                description=event.description,
            )
        )

    def on_change(contract: type[FindingEvent], change: Callable[[P, Any], None]) -> None:
        @handlers.on(contract)
        async def changed(session: AsyncSession, event: FindingEvent, envelope: Envelope) -> None:
            problem = await tracked(session, event)
            if problem is not None and not problem.closed and envelope.time >= problem.updated_at:
                change(problem, event)
                problem.updated_at = envelope.time

    for contract in (RectificationOpened, RectificationRescheduled, RectificationRejected, RectificationReopened):
        on_change(contract, _new_deadline)
    on_change(DisciplineReferralMade, _referred)
    on_change(FindingRecurred, _found_again)

    @handlers.on(RectificationClosed)
    async def closed(session: AsyncSession, event: RectificationClosed, envelope: Envelope) -> None:
        if event.subject_kind is not kind:
            return
        problem = await session.get(model, event.finding_id)
        if problem is None:  # closed before its recording arrived: remembered, so that the recording changes nothing
            problem = _row(model, event, subject, envelope, category="", code="", severity="", description="")
            session.add(problem)
        problem.closed, problem.updated_at = True, max(envelope.time, problem.updated_at)


def _row(model: type[P], event: FindingEvent, subject: str, envelope: Envelope, **fields: str) -> P:
    columns: dict[str, Any] = {subject: UUID(event.subject_id), **fields}
    return model(finding_id=event.finding_id, updated_at=envelope.time, **columns)


def _new_deadline(problem: OpenFindingFields, event: Any) -> None:
    problem.rectification_deadline = event.deadline


def _found_again(problem: OpenFindingFields, event: FindingRecurred) -> None:
    if event.severity is not None:  # found worse than it was
        problem.severity = event.severity


def _referred(problem: OpenFindingFields, _: Any) -> None:
    problem.referred = True

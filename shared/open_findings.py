"""A service's open findings as audit tracks them (问题整改台账): a read model fed by `audit.events`.

Households and projects each keep one for their own subjects; audit stays the owner of findings. An open finding
appears when audit records the finding, follows its rectification deadline and referral, and is closed when the
rectification is closed. Events may arrive late (one replayed from a dead-letter topic after those that followed
it): a closed one is kept as closed, so a late recording does not reopen it, and a change older than the last
one applied is ignored (by the events' own times).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar, cast
from uuid import UUID

from sqlalchemy import Select, Uuid, event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel, col

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
from shared.db import one_of_parameter
from shared.entities import new_entity
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

    @handlers.prepare(*_TRACKED)
    async def load(session: AsyncSession, events: list[FindingEvent]) -> None:
        await _load(session, model, [event.finding_id for event in events if event.subject_kind is kind])

    @handlers.on(FindingRecorded)
    async def recorded(session: AsyncSession, event: FindingRecorded, envelope: Envelope) -> None:
        if event.subject_kind is not kind or await _find(session, model, event.finding_id) is not None:
            return  # known already, open or closed
        fields = {"category": event.category, "code": event.code, "severity": event.severity}
        _add(session, _row(model, event, subject, envelope, description=event.description, **fields))

    def on_change(contract: type[FindingEvent], change: Callable[[P, Any], None]) -> None:
        @handlers.on(contract)
        async def changed(session: AsyncSession, event: FindingEvent, envelope: Envelope) -> None:
            problem = await _find(session, model, event.finding_id) if event.subject_kind is kind else None
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
        problem = await _find(session, model, event.finding_id)
        if problem is None:  # closed before its recording arrived: remembered, so that the recording changes nothing
            problem = _row(model, event, subject, envelope, category="", code="", severity="", description="")
            _add(session, problem)
        problem.closed, problem.updated_at = True, max(envelope.time, problem.updated_at)


_TRACKED = (
    FindingRecorded,
    RectificationOpened,
    RectificationRescheduled,
    RectificationRejected,
    RectificationReopened,
    DisciplineReferralMade,
    FindingRecurred,
    RectificationClosed,
)
_KNOWN = "open_findings_known"


def _known(session: AsyncSession) -> dict[UUID, OpenFindingFields | None]:
    """The open findings this transaction has looked up or added, by finding id (None: not tracked)."""
    known: dict[UUID, OpenFindingFields | None] = session.info.setdefault(_KNOWN, {})
    return known


async def _load(session: AsyncSession, model: type[P], finding_ids: list[UUID]) -> None:
    """A batch's open findings in one query: those found are loaded, the others remembered as absent, so that each
    event needs no query of its own."""
    known = _known(session)
    wanted = sorted({finding_id for finding_id in finding_ids if finding_id not in known})
    if not wanted:
        return
    stmt = _open_findings_of(model, session.get_bind().dialect.name)
    with session.no_autoflush:
        found = {problem.finding_id: problem for problem in (await session.scalars(stmt, {"findings": wanted})).all()}
    known.update({finding_id: found.get(finding_id) for finding_id in wanted})


@functools.cache
def _open_findings_of(model: type[P], dialect: str) -> Select[tuple[P]]:
    # Built once: a statement built per batch is keyed for SQLAlchemy's cache every time.
    return select(model).where(one_of_parameter(dialect, col(model.finding_id), "findings", Uuid()))


async def _find(session: AsyncSession, model: type[P], finding_id: UUID) -> P | None:
    known = _known(session)
    if finding_id not in known:
        known[finding_id] = await session.get(model, finding_id)
    return cast(P | None, known[finding_id])


def _add(session: AsyncSession, problem: OpenFindingFields) -> None:
    session.add(problem)
    _known(session)[problem.finding_id] = problem  # a later event of the batch finds it without a flush


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_known(session: Session) -> None:
    session.info.pop(_KNOWN, None)


def _row(model: type[P], event: FindingEvent, subject: str, envelope: Envelope, **fields: str) -> P:
    columns: dict[str, Any] = {subject: UUID(event.subject_id), **fields}
    return new_entity(model, finding_id=event.finding_id, updated_at=envelope.time, **columns)


def _new_deadline(problem: OpenFindingFields, event: Any) -> None:
    problem.rectification_deadline = event.deadline


def _found_again(problem: OpenFindingFields, event: FindingRecurred) -> None:
    if event.severity is not None:  # found worse than it was
        problem.severity = event.severity


def _referred(problem: OpenFindingFields, _: Any) -> None:
    problem.referred = True

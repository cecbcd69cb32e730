"""The transactional outbox: an event is a row written in the same transaction as the state change."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from uuid import uuid4

from sqlalchemy import BigInteger, Column, Index, Integer, Text, event, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from shared.contracts import IntegrationEvent
from shared.messaging.cloudevents import Envelope
from shared.timeutil import UTCDateTime, utcnow

NOTIFY_CHANNEL = "outbox"
_PENDING = "outbox_pending"
_SIGNAL = "outbox_signal"


class OutboxMessage(SQLModel, table=True):
    """An event waiting to be (or already) published; `id` gives the publication order."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_unpublished", "published_at", "id"),)

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    )
    event_id: str = Field(max_length=36, unique=True)
    topic: str = Field(max_length=200)
    key: str = Field(max_length=200)
    event_type: str = Field(max_length=200)
    source: str = Field(max_length=200)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    payload: str = Field(sa_type=Text)
    traceparent: str | None = Field(default=None, max_length=55)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    def envelope(self) -> Envelope:
        """The CloudEvent this row publishes."""
        return Envelope(
            id=self.event_id,
            type=self.event_type,
            source=self.source,
            subject=self.key,
            time=self.occurred_at,
            data=self.payload.encode(),
            traceparent=self.traceparent,
        )


class OutboxSignal:
    """Wakes the relay when a transaction that wrote outbox rows commits in this process."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    async def wait(self, timeout: float) -> None:
        """Return when woken or after `timeout` seconds, whichever is first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)
        self._event.clear()


def session_info(signal: OutboxSignal) -> dict[str, object]:
    """The `info` a service's sessionmaker carries so that commits can wake its relay."""
    return {_SIGNAL: signal}


async def record_event(session: AsyncSession, evt: IntegrationEvent, *, source: str) -> OutboxMessage:
    """Add `evt` to the outbox in the caller's transaction; it is published only if that commits."""
    row = OutboxMessage(
        event_id=str(uuid4()),
        topic=evt.topic,
        key=evt.aggregate_id(),
        event_type=evt.event_type,
        source=source,
        occurred_at=utcnow(),
        payload=evt.model_dump_json(),
    )
    session.add(row)
    if not session.info.get(_PENDING):
        session.info[_PENDING] = True
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            # NOTIFY is delivered at commit and dropped on rollback: exactly the wake-up we want.
            await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
    return row


@event.listens_for(Session, "after_commit")
def _wake_relay(session: Session) -> None:
    if session.info.pop(_PENDING, False):
        signal = session.info.get(_SIGNAL)
        if isinstance(signal, OutboxSignal):
            signal.set()


@event.listens_for(Session, "after_rollback")
def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)

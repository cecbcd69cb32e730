"""The transactional outbox: an event is a row written in the same transaction as the state change."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple, TypedDict

from sqlalchemy import BigInteger, Column, FetchedValue, Index, Integer, Row, Text, event, insert, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.types import UserDefinedType
from sqlmodel import Field, SQLModel

from shared.commit_queue import CommitQueue
from shared.contracts import IntegrationEvent
from shared.ids import uuid7
from shared.messaging.cloudevents import binary_headers
from shared.timeutil import UTCDateTime, utcnow
from shared.tracing import current_traceparent

NOTIFY_CHANNEL = "outbox"
# Run in a transaction that wrote outbox rows: NOTIFY is delivered at commit and dropped on rollback.
WAKE_RELAYS = text("SELECT pg_notify(:channel, '')").bindparams(channel=NOTIFY_CHANNEL)
_RECORDED: CommitQueue[OutboxRow] = CommitQueue("outbox")  # rows recorded in the transaction, not yet written
_WAKE = "outbox_wake"  # rows were written: wake the relay after the commit
_SIGNAL = "outbox_signal"


class TransactionId(UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id (`xid8`)."""

    cache_ok = True

    def get_col_spec(self, **_: Any) -> str:
        return "xid8"


# The transaction that wrote a row: on PostgreSQL `pg_current_xact_id()` (the migrations' default), which the relay
# compares with a snapshot to tell rows committed while it was reading (`shared.messaging.backlog`); NULL on SQLite
# and on rows written before the column was added.
TXID_TYPE = BigInteger().with_variant(TransactionId(), "postgresql")


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
    txid: int | None = Field(default=None, sa_column=Column(TXID_TYPE, server_default=FetchedValue()))


OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]


class PublishedRow(NamedTuple):
    """What the relay reads to publish a row: a plain tuple, no ORM object (it reads thousands a second), nor a
    SQLAlchemy `Row`, whose fields cost ten times more to read by name."""

    id: int
    event_id: str
    topic: str
    key: str
    event_type: str
    source: str
    occurred_at: datetime
    payload: str
    traceparent: str | None


PUBLISHED_FIELDS = tuple(OUTBOX.c[name] for name in PublishedRow._fields)


def published_rows(rows: Sequence[Row[Any]]) -> list[PublishedRow]:
    """`rows` read with PUBLISHED_FIELDS first (and any columns after them), as the relay publishes them."""
    width = len(PUBLISHED_FIELDS)
    return [PublishedRow._make(row[:width]) for row in rows]


def kafka_record(row: PublishedRow, *, traceparent: str | None) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """The key, value and CloudEvents headers of the record an outbox row publishes, carrying `traceparent`: the
    context of the span that publishes it, child of the one saved with the row."""
    headers = binary_headers(row.event_id, row.event_type, row.source, row.key, row.occurred_at, traceparent)
    return row.key.encode(), row.payload.encode(), headers


class OutboxSignal:
    """Wakes the relay when a transaction that wrote outbox rows commits in this process. While this process's relay
    leads (`relay_leads_here`), that is all a commit needs: the NOTIFY is for a relay leading in another process."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.relay_leads_here = False

    def set(self) -> None:
        self._event.set()

    async def wait(self, timeout: float) -> None:
        """Return when woken or after `timeout` seconds, whichever is first."""
        # asyncio.timeout, not wait_for, which on Python 3.11 can lose the relay's cancellation.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._event.wait()
        self._event.clear()


def session_info(signal: OutboxSignal) -> dict[str, object]:
    """The `info` a service's sessionmaker carries so that commits can wake its relay."""
    return {_SIGNAL: signal}


class OutboxRow(TypedDict):
    """An outbox row as written: one published event."""

    event_id: str
    topic: str
    key: str
    event_type: str
    source: str
    occurred_at: datetime
    payload: str
    traceparent: str | None
    published_at: datetime | None


def outbox_row(evt: IntegrationEvent, *, source: str, now: datetime) -> OutboxRow:
    """The row that publishes `evt` (bulk writers build these directly)."""
    return OutboxRow(
        event_id=str(uuid7()),
        topic=evt.topic,
        key=evt.aggregate_id(),
        event_type=evt.event_type,
        source=source,
        occurred_at=now,
        payload=evt.model_dump_json(),
        traceparent=None,
        published_at=None,
    )


def record_event(session: AsyncSession, evt: IntegrationEvent, *, source: str) -> OutboxRow:
    """Add `evt` to the outbox in the caller's transaction; it is published only if that commits.

    The row is written when the transaction commits, with the rest of the transaction's events in one
    statement (not visible to queries before): an event is written once and never read back by its writer,
    so it needs no ORM object. An event recorded inside a savepoint that rolls back is dropped with it.
    The row keeps the current trace context (W3C traceparent, None outside a trace): the relay continues it.
    """
    row = outbox_row(evt, source=source, now=utcnow())
    row["traceparent"] = current_traceparent()
    _RECORDED.add(session, row)
    return row


_INSERT = insert(OUTBOX)
_WRITTEN = ("event_id", "topic", "key", "event_type", "source", "occurred_at", "payload", "traceparent")
_ARRAYS = ("varchar[]",) * 5 + ("timestamptz[]", "text[]", "varchar[]")
# The rows and the relays' wake-up in one round trip: a data-modifying WITH runs to completion whatever the query
# reads of it, and the NOTIFY is sent at commit (dropped on rollback), as a statement of its own would be. The rows
# are inserted in the order recorded (the ids give the publication order).
_COLUMNS = ", ".join(_WRITTEN)
_UNNESTED = ", ".join(f"CAST(:{column} AS {array})" for column, array in zip(_WRITTEN, _ARRAYS, strict=True))
_INSERT_AND_WAKE = text(
    f"WITH written AS (INSERT INTO outbox ({_COLUMNS}) "  # noqa: S608 - the table's own names
    f"SELECT {_COLUMNS} FROM unnest({_UNNESTED}) WITH ORDINALITY AS recorded ({_COLUMNS}, n) ORDER BY n "
    f"RETURNING 1) SELECT pg_notify('{NOTIFY_CHANNEL}', '') WHERE EXISTS (SELECT FROM written)"
)


def write_recorded(session: Session) -> None:
    """Insert the transaction's recorded events now (at commit; the audit log calls it before its lock)."""
    rows = _RECORDED.take(session)
    if not rows:
        return
    signal = session.info.get(_SIGNAL)
    leads_here = isinstance(signal, OutboxSignal) and signal.relay_leads_here
    # Beside the leading relay a commit wakes it in process, with no NOTIFY. Should the lead move meanwhile, the new
    # leader's first pass, or its fallback poll, finds the rows.
    if not leads_here and session.get_bind().dialect.name == "postgresql":
        columns = {column: [row[column] for row in rows] for column in _WRITTEN}  # type: ignore[literal-required]
        session.execute(_INSERT_AND_WAKE, columns)
    else:
        session.execute(_INSERT, rows)
    session.info[_WAKE] = True


@event.listens_for(Session, "before_commit")
def _write_before_commit(session: Session) -> None:
    if not session.in_nested_transaction():  # a released savepoint's events wait for the real commit
        write_recorded(session)


@event.listens_for(Session, "after_commit")
def _wake_relay(session: Session) -> None:
    if session.info.pop(_WAKE, False):
        signal = session.info.get(_SIGNAL)
        if isinstance(signal, OutboxSignal):
            signal.set()


@event.listens_for(Session, "after_soft_rollback")
def _no_wake_after_rollback(session: Session, previous: SessionTransaction) -> None:
    if not previous.nested:
        session.info.pop(_WAKE, None)

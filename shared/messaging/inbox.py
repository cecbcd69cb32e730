"""The inbox: which events a consumer has applied, written in the same transaction as the effect."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from shared.timeutil import UTCDateTime, utcnow


class InboxEntry(SQLModel, table=True):
    """One applied event; its presence makes a redelivery a no-op."""

    __tablename__ = "inbox"

    consumer: str = Field(primary_key=True, max_length=100)
    event_id: str = Field(primary_key=True, max_length=36)
    event_type: str = Field(max_length=200)
    processed_at: datetime = Field(sa_type=UTCDateTime, index=True)  # retention deletes by age


async def claim(session: AsyncSession, *, consumer: str, events: Sequence[tuple[str, str]]) -> set[str]:
    """Record events (id, type) as applied, in one statement; returns the ids that were not applied before
    (the caller applies only those)."""
    now = utcnow()
    if session.get_bind().dialect.name == "postgresql":
        # Two array parameters: one prepared statement whatever the batch's size, and no SQL built per batch.
        params = {"consumer": consumer, "ids": [id_ for id_, _ in events], "types": [t for _, t in events], "at": now}
        return set((await session.scalars(_CLAIM, params)).all())
    rows = [{"consumer": consumer, "event_id": id_, "event_type": type_, "processed_at": now} for id_, type_ in events]
    stmt = sqlite.insert(InboxEntry).values(rows).on_conflict_do_nothing().returning(col(InboxEntry.event_id))
    return set((await session.scalars(stmt)).all())


# Its result's column is declared, so SQLAlchemy keeps how to read it with the compiled statement (a text's result is
# otherwise matched by name on every execution).
_CLAIM = (
    text(
        "INSERT INTO inbox (consumer, event_id, event_type, processed_at) "
        "SELECT :consumer, claimed.event_id, claimed.event_type, :at "
        "FROM unnest(CAST(:ids AS varchar[]), CAST(:types AS varchar[])) AS claimed (event_id, event_type) "
        "ON CONFLICT DO NOTHING RETURNING event_id"
    )
    .bindparams(bindparam("at", type_=UTCDateTime()))
    .columns(InboxEntry.__table__.c.event_id)  # type: ignore[attr-defined]
)

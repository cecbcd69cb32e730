"""The inbox: which events a consumer has applied, written in the same transaction as the effect."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
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
    dialect = postgresql if session.bind is not None and session.bind.dialect.name == "postgresql" else sqlite
    now = utcnow()
    rows = [{"consumer": consumer, "event_id": id_, "event_type": type_, "processed_at": now} for id_, type_ in events]
    stmt = dialect.insert(InboxEntry).values(rows).on_conflict_do_nothing().returning(col(InboxEntry.event_id))
    return set((await session.scalars(stmt)).all())

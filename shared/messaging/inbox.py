"""The inbox: which events a consumer has applied, written in the same transaction as the effect."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from shared.timeutil import UTCDateTime, utcnow


class InboxEntry(SQLModel, table=True):
    """One applied event; its presence makes a redelivery a no-op."""

    __tablename__ = "inbox"

    consumer: str = Field(primary_key=True, max_length=100)
    event_id: str = Field(primary_key=True, max_length=36)
    event_type: str = Field(max_length=200)
    processed_at: datetime = Field(sa_type=UTCDateTime)


async def claim(session: AsyncSession, *, consumer: str, event_id: str, event_type: str) -> bool:
    """Record the event as applied; False when it already was (then the caller does nothing)."""
    dialect = postgresql if session.bind is not None and session.bind.dialect.name == "postgresql" else sqlite
    values = {"consumer": consumer, "event_id": event_id, "event_type": event_type, "processed_at": utcnow()}
    stmt = dialect.insert(InboxEntry).values(**values).on_conflict_do_nothing()
    result = await session.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]

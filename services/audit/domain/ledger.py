"""The tamper-evident log: every event seen and every change made, each entry chained to the one before.

A use case queues entries (`append`); they are chained and inserted just before its transaction commits
(`write_pending`, called by the commit hook in `events.py`), so an entry exists exactly when the change it
records does. Writers are serialized so the chain never forks: on PostgreSQL by a transaction-level advisory
lock, on SQLite by the database write lock, taken last and held only for the head read and the inserts. The
table refuses UPDATE and DELETE (triggers, migration 0002); whoever gets past them is caught by `verify`, a
cut tail by an exported head.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col

from services.audit.models import LedgerEntry
from services.audit.rules.ledger import (
    GENESIS_HASH,
    Break,
    PendingEntry,
    Verification,
    chain,
    head_break,
    recompute,
    sha256_hex,
)
from shared.commit_queue import CommitQueue
from shared.db import create_engine, session_factory
from shared.messaging.outbox import write_recorded

LEDGER_LOCK_KEY = 0x1ED6_E7A0  # distinct from the outbox relay's lock
_BATCH = 1000
_PENDING: CommitQueue[PendingEntry] = CommitQueue("ledger")


def append(session: AsyncSession, *, source: str, event_type: str, payload: bytes) -> None:
    """Queue an entry in the caller's transaction; it is chained and written at commit, or never."""
    _PENDING.add(session, PendingEntry(source=source, event_type=event_type, payload_hash=sha256_hex(payload)))


def _serialize_writers(session: Session) -> None:
    """Hold the log's write lock until the transaction ends, so that head reads and appends never interleave."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LEDGER_LOCK_KEY})
    else:
        # A write that matches no row takes SQLite's database write lock (held to commit); no trigger fires.
        session.execute(text("UPDATE ledger_entry SET seq = seq WHERE 0"))


def write_pending(session: Session, *, now: datetime) -> list[dict[str, Any]]:
    """Chain and insert the transaction's queued entries, recorded at `now` (run just before commit).

    The use case's own changes and events are written first, so every row lock it needs is taken before the
    log's lock and the lock is held as briefly as possible; whoever holds the log's lock then only reads the
    head and inserts: it never waits for a row, so writers serialized on the log cannot deadlock.
    """
    pending = _PENDING.take(session)
    if not pending:
        return []
    session.flush()
    write_recorded(session)
    _serialize_writers(session)
    last = session.scalars(select(LedgerEntry).order_by(col(LedgerEntry.seq).desc()).limit(1)).first()
    rows = chain(pending, after=last, now=now)
    # Append-only rows: one Core statement on the table, no ORM objects or ORM bulk machinery.
    session.execute(insert(LedgerEntry.__table__), rows)  # type: ignore[attr-defined]
    return rows


async def head(session: AsyncSession) -> LedgerEntry | None:
    """The newest entry, if any."""
    stmt = select(LedgerEntry).order_by(col(LedgerEntry.seq).desc()).limit(1)
    return (await session.scalars(stmt)).first()


async def _entries(session: AsyncSession) -> AsyncIterator[LedgerEntry]:
    """Every entry in sequence order, from the lowest stored (an entry slipped in below 1 is read too)."""
    after: int | None = None
    while True:
        stmt = select(LedgerEntry).order_by(col(LedgerEntry.seq)).limit(_BATCH)
        if after is not None:
            stmt = stmt.where(col(LedgerEntry.seq) > after)
        batch = list((await session.scalars(stmt)).all())
        for entry in batch:
            yield entry
        if len(batch) < _BATCH:
            return
        after = batch[-1].seq


async def _link_break(session: AsyncSession, entry: LedgerEntry) -> Break:
    """Name a prev_hash mismatch: the expected predecessor sits elsewhere (reordered) or is gone."""
    stmt = select(col(LedgerEntry.seq)).where(col(LedgerEntry.entry_hash) == entry.prev_hash).limit(1)
    elsewhere = await session.scalar(stmt)
    if elsewhere is not None:
        return Break(entry.seq, "reordered", f"entry {entry.seq} was written after the entry now at {elsewhere}")
    detail = f"entry {entry.seq} does not follow entry {entry.seq - 1}: an earlier entry was altered or replaced"
    return Break(entry.seq, "broken_link", detail)


async def _check(session: AsyncSession, entry: LedgerEntry, expected_seq: int, prev_hash: str) -> Break | None:
    if entry.seq < expected_seq:  # only below 1: sequence numbers are unique and read in order
        return Break(entry.seq, "inserted", f"entry {entry.seq} precedes the chain's first entry: it was inserted")
    if entry.seq != expected_seq:
        missing = f"{expected_seq}" if entry.seq == expected_seq + 1 else f"{expected_seq}..{entry.seq - 1}"
        return Break(expected_seq, "missing_entries", f"entries {missing} are missing")
    if entry.prev_hash != prev_hash:
        return await _link_break(session, entry)
    if recompute(entry) != entry.entry_hash:
        return Break(entry.seq, "altered", f"entry {entry.seq} does not match its hash: its content was changed")
    return None


async def verify(session: AsyncSession, *, expected_head: tuple[int, str] | None = None) -> Verification:
    """Walk the chain from the first entry; report the first broken link (and check an exported head)."""
    count, seq, last_hash = 0, 0, GENESIS_HASH
    async for entry in _entries(session):
        found = await _check(session, entry, seq + 1, last_hash)
        if found is not None:
            return Verification(False, count, seq, last_hash, found)
        count, seq, last_hash = count + 1, entry.seq, entry.entry_hash
    found = head_break(expected_head, seq, await _hash_at(session, expected_head))
    return Verification(found is None, count, seq, last_hash, found)


async def _hash_at(session: AsyncSession, expected_head: tuple[int, str] | None) -> str | None:
    if expected_head is None:
        return None
    stored: str | None = await session.scalar(
        select(col(LedgerEntry.entry_hash)).where(col(LedgerEntry.seq) == expected_head[0])
    )
    return stored


async def verify_database(database_url: str, *, expected_head: tuple[int, str] | None = None) -> Verification:
    """Verify the log in audit's database directly (`poverty verify-ledger`): no service needs to be running."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            return await verify(session, expected_head=expected_head)
    finally:
        await engine.dispose()

"""The tamper-evident log: every event seen and every change made, each entry chained to the one before.

A use case queues entries (`append`); they are chained and inserted just before its transaction commits
(`write_pending`, called by the commit hook in `events.py`), so an entry exists exactly when the change it
records does. Writers are serialized so the chain never forks: on PostgreSQL by a transaction-level advisory
lock (taken with the head's read in one round trip, `ledger_head_locked`, migration 0014), on SQLite by the database
write lock, taken last and held only for the head read and the inserts. The
table refuses UPDATE and DELETE (triggers, migration 0002), and on PostgreSQL the service's own role may only
insert and read (migration 0012); whoever gets past them is caught by `verify`, a cut tail or a rewrite with every
hash recomputed by the heads anchored outside the database (`ledger_anchors.py`) or an exported head.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col

from services.audit.models import LedgerAnchor, LedgerEntry
from services.audit.rules.ledger import (
    GENESIS_HASH,
    MAX_LISTED_BREAKS,
    Break,
    PendingEntry,
    Verification,
    anchor_breaks,
    chain,
    head_break,
    recompute,
    sha256_hex,
)
from shared.commit_queue import CommitQueue
from shared.db import rows_of_function
from shared.messaging.outbox import write_recorded

LEDGER_LOCK_KEY = 0x1ED6_E7A0  # distinct from the outbox relay's lock
_BATCH = 1000
_PENDING: CommitQueue[PendingEntry] = CommitQueue("ledger")


def append(session: AsyncSession, *, source: str, event_type: str, payload: bytes, facts: str | None = None) -> None:
    """Queue an entry in the caller's transaction; it is chained and written at commit, or never. `facts`: the
    state the change leaves (`rules/ledger_state.py`), hashed with the entry."""
    _PENDING.add(
        session, PendingEntry(source=source, event_type=event_type, payload_hash=sha256_hex(payload), facts=facts)
    )


# Built once: a statement built per transaction is parsed (text) or keyed for SQLAlchemy's cache every time.
_HEAD = select(LedgerEntry).order_by(col(LedgerEntry.seq).desc()).limit(1)
# PostgreSQL: the lock, then the head read after it is granted, in one round trip (migration 0014).
_LOCKED_HEAD = select(LedgerEntry).from_statement(
    rows_of_function(LedgerEntry, "ledger_head_locked(:key)").bindparams(key=LEDGER_LOCK_KEY)
)
# A write that matches no row takes SQLite's database write lock (held to commit); no trigger fires.
_SQLITE_LOCK = text("UPDATE ledger_entry SET seq = seq WHERE 0")
_APPEND = insert(LedgerEntry.__table__)  # type: ignore[attr-defined]


def _locked_head(session: Session) -> LedgerEntry | None:
    """Take the log's write lock, held until the transaction ends so that head reads and appends never interleave,
    and read the head."""
    if session.get_bind().dialect.name == "postgresql":
        return session.scalars(_LOCKED_HEAD).first()
    session.execute(_SQLITE_LOCK)
    return session.scalars(_HEAD).first()


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
    rows = chain(pending, after=_locked_head(session), now=now)
    # Append-only rows: one Core statement on the table, no ORM objects or ORM bulk machinery.
    session.execute(_APPEND, rows)
    return rows


async def head(session: AsyncSession) -> LedgerEntry | None:
    """The newest entry, if any."""
    return (await session.scalars(_HEAD)).first()


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


async def _check(session: AsyncSession, entry: LedgerEntry, expected_seq: int, prev_hash: str) -> list[Break]:
    """What is wrong with `entry`, expected at `expected_seq` after an entry hashed `prev_hash`: its place or link,
    and its content."""
    if entry.seq < 1:  # sequence numbers are unique and read in order: only an entry below the first precedes it
        return [Break(entry.seq, "inserted", f"entry {entry.seq} precedes the chain's first entry: it was inserted")]
    found = []
    if entry.seq != expected_seq:
        missing = f"{expected_seq}" if entry.seq == expected_seq + 1 else f"{expected_seq}..{entry.seq - 1}"
        found.append(Break(expected_seq, "missing_entries", f"entries {missing} are missing"))
    elif entry.prev_hash != prev_hash:
        found.append(await _link_break(session, entry))
    if recompute(entry) != entry.entry_hash:
        found.append(Break(entry.seq, "altered", f"entry {entry.seq} does not match its hash: its content was changed"))
    return found


async def stored_anchors(session: AsyncSession) -> list[tuple[int, str]]:
    """The heads anchored so far, as kept in the database (append-only, like the log)."""
    rows = await session.execute(select(col(LedgerAnchor.seq), col(LedgerAnchor.entry_hash)))
    return [(seq, hash_) for seq, hash_ in rows.tuples().all()]


async def verify(
    session: AsyncSession,
    *,
    expected_head: tuple[int, str] | None = None,
    anchors: Iterable[tuple[int, str]] = (),
) -> Verification:
    """Walk the whole chain and report every break; then check the anchored heads (those kept in the database and
    `anchors`, e.g. from the handover packages or the topic) and an exported head.

    After a break the walk resynchronises on the entry's own hash, so that one bad row (an entry planted below the
    first, say) never hides what follows it; an entry below the first is reported and passed over.
    """
    every_anchor = {*await stored_anchors(session), *anchors}
    anchored = {seq for seq, _ in every_anchor}
    count, seq, last_hash, hashes = 0, 0, GENESIS_HASH, {}
    breaks: list[Break] = []
    async for entry in _entries(session):
        breaks += await _check(session, entry, seq + 1, last_hash)
        if entry.seq < 1:
            continue
        count, seq, last_hash = count + 1, entry.seq, entry.entry_hash
        if seq in anchored:
            hashes[seq] = last_hash
    breaks += anchor_breaks(every_anchor, seq, hashes)
    exported = head_break(expected_head, seq, await _hash_at(session, expected_head))
    if exported is not None:
        breaks.append(exported)
    protected, protection = await _protection(session)
    return Verification(
        not breaks,
        count,
        seq,
        last_hash,
        breaks[0] if breaks else None,
        len(every_anchor),
        breaks[:MAX_LISTED_BREAKS],
        len(breaks),
        protected,
        protection,
    )


_MAY_CHANGE_THE_LOG = text(
    "SELECT bool_or(pg_has_role(current_user, c.relowner, 'MEMBER') OR has_table_privilege(c.oid, 'UPDATE')"
    " OR has_table_privilege(c.oid, 'DELETE') OR has_table_privilege(c.oid, 'TRUNCATE'))"
    " FROM pg_class c WHERE c.oid IN ('ledger_entry'::regclass, 'ledger_anchor'::regclass)"
)


async def _protection(session: AsyncSession) -> tuple[bool, str]:
    """Whether the role this session runs as cannot change the log, and why."""
    if session.get_bind().dialect.name != "postgresql":
        return False, "SQLite has no roles: whoever can write the file can drop the triggers and change the log"
    if await session.scalar(_MAY_CHANGE_THE_LOG):
        return False, "this role owns the log or may update, delete or truncate it: it can rewrite the log"
    return True, "this role may only insert into the log and read it"


async def _hash_at(session: AsyncSession, expected_head: tuple[int, str] | None) -> str | None:
    if expected_head is None:
        return None
    stored: str | None = await session.scalar(
        select(col(LedgerEntry.entry_hash)).where(col(LedgerEntry.seq) == expected_head[0])
    )
    return stored

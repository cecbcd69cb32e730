"""The outbox's backlog: the unpublished rows, read by the relay in batches, and sampled as metrics.

The metrics say how many rows wait to be published and how long the oldest has waited. Every pod of a service samples
its database every `SAMPLE_INTERVAL_S` (so replicas report the same numbers: alert on their maximum). A growing
backlog with an old oldest row means events are not leaving: the brokers are unreachable, no relay holds the lock, or
publishing fails. Every query here reads the index `ix_outbox_unpublished` (published_at, id).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Select, Text, bindparam, cast, func, not_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.types import UserDefinedType

from shared.db import one_of_parameter
from shared.messaging.outbox import OUTBOX, PUBLISHED_FIELDS, PublishedRow, published_rows
from shared.metrics import OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE
from shared.timeutil import utcnow

log = logging.getLogger(__name__)
SAMPLE_INTERVAL_S = 10.0
SAMPLE_TIMEOUT_S = 5.0

_UNPUBLISHED = OUTBOX.c.published_at.is_(None)
UNPUBLISHED_ROWS = select(func.count()).select_from(OUTBOX).where(_UNPUBLISHED)
OLDEST_UNPUBLISHED = select(OUTBOX.c.occurred_at).where(_UNPUBLISHED).order_by(OUTBOX.c.id).limit(1)
UNPUBLISHED = select(*PUBLISHED_FIELDS).where(_UNPUBLISHED).order_by(OUTBOX.c.id)


def _unsent(dialect: str) -> Select[Any]:
    """The unpublished rows but those of the parameter `marking`: sent, acknowledged, and being marked."""
    return UNPUBLISHED.where(not_(one_of_parameter(dialect, OUTBOX.c.id, "marking", BigInteger)))


# Built once, with parameters: a statement built per read is keyed for SQLAlchemy's cache every time.
_FIRST = _unsent("sqlite").limit(bindparam("size"))
_AFTER = _unsent("sqlite").where(OUTBOX.c.id > bindparam("after")).limit(bindparam("size"))


class _Snapshot(UserDefinedType[str]):
    """PostgreSQL's `pg_snapshot`, given as its text."""

    cache_ok = True

    def get_col_spec(self, **_: Any) -> str:
        return "pg_snapshot"


# PostgreSQL: a pass's first read returns the snapshot it read with (a subquery, evaluated once), and each later row's
# writer is tested against it. Settled too: a row with no writer (written before writers were recorded, long
# committed) and one whose writer is beyond every transaction this server has started (restored from a dump of another
# cluster: its ids mean nothing here).
_FIRST_WITH_SNAPSHOT = (
    _unsent("postgresql")
    .limit(bindparam("size"))
    .add_columns(select(cast(func.pg_current_snapshot(), Text)).scalar_subquery().label("snapshot"))
)
_SETTLED = func.coalesce(
    or_(
        func.pg_visible_in_snapshot(OUTBOX.c.txid, cast(bindparam("snapshot", type_=Text), _Snapshot())),
        OUTBOX.c.txid >= func.pg_snapshot_xmax(func.pg_current_snapshot()),
    ),
    true(),
)
_AFTER_SETTLED = (
    _unsent("postgresql")
    .where(OUTBOX.c.id > bindparam("after"))
    .limit(bindparam("size"))
    .add_columns(_SETTLED.label("settled"))
)


class ReadAhead:
    """Batches of unpublished rows in id order, each read while the caller sends the one before. It stops after a
    short batch (caught up) or `max_batches`, or at the first row committed after the pass began.

    Transactions commit out of id order (ids are drawn as rows are inserted). One that drew ids on both sides of the
    cursor and committed while the pass read on would have its rows above the cursor sent before those behind it: a
    key's later event before its earlier one. On PostgreSQL each row records its writer (`txid`), and a pass notes
    the snapshot its first read saw: a row whose writer committed before it had all its writer's rows visible to every
    read of the pass, so nothing of that transaction was left behind. At the first row written by a later one the
    pass ends, sending the rows before it, and the next pass, reading from the start, sends that transaction's rows
    in order. (SQLite has one writer at a time: its ids are in commit order.)

    Each read leaves out the rows `marking` names when it runs: those of the pass before, which Kafka acknowledged and
    which may still be being marked. Any other row is read, one of their id range committed late or published rows
    made unpublished again (a replay)."""

    def __init__(
        self, engine: AsyncEngine, size: int, max_batches: int, marking: Callable[[], list[int]] = list
    ) -> None:
        # One statement a read: no transaction to begin and roll back around it.
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._postgres = engine.dialect.name == "postgresql"
        self._marking = marking
        self._snapshot: str | None = None
        self._size, self._left = size, max_batches
        self._next: asyncio.Task[list[PublishedRow]] | None = None
        self._ends = False  # the last read stopped at a row committed during the pass
        self.caught_up = False

    async def __aenter__(self) -> ReadAhead:
        self._next = asyncio.create_task(self._read(None))
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._next is not None:  # a read ahead that the pass no longer needs: let it finish, never cancel it
            # A query cancelled mid-flight can hand its connection back to the pool with the operation unfinished;
            # the next statement on it then fails ("another operation is in progress") and a mark is lost.
            await asyncio.wait([self._next])
            if not self._next.cancelled():
                self._next.exception()  # read, or asyncio would log it as never retrieved

    async def next(self) -> Sequence[PublishedRow]:
        """The next batch; empty once the pass has read its last."""
        if self._next is None:
            return ()
        # Shielded: awaiting the task directly would pass a cancellation of the pass on to the read, mid-query.
        rows, self._next = await asyncio.shield(self._next), None
        self._left -= 1
        self.caught_up = len(rows) < self._size and not self._ends
        if len(rows) == self._size and self._left > 0:
            self._next = asyncio.create_task(self._read(rows[-1].id))
        return rows

    async def _read(self, after: int | None) -> list[PublishedRow]:
        parameters: dict[str, Any] = {"size": self._size, "marking": self._marking()}
        async with self._engine.connect() as conn:
            if after is None and self._postgres:
                rows = (await conn.execute(_FIRST_WITH_SNAPSHOT, parameters)).all()
                self._snapshot = rows[0].snapshot if rows else None
                return published_rows(rows)
            if after is None:
                return published_rows((await conn.execute(_FIRST, parameters)).all())
            if not self._postgres:
                return published_rows((await conn.execute(_AFTER, {**parameters, "after": after})).all())
            parameters |= {"after": after, "snapshot": self._snapshot}
            rows = (await conn.execute(_AFTER_SETTLED, parameters)).all()
        settled = next((n for n, row in enumerate(rows) if not row.settled), len(rows))
        self._ends = settled < len(rows)
        return published_rows(rows[:settled])


@dataclass(frozen=True)
class Backlog:
    """Unpublished outbox rows, and the age of the oldest of them (by its event's time; 0 when there is none)."""

    rows: int
    oldest_age_s: float


async def outbox_backlog(engine: AsyncEngine, *, now: datetime) -> Backlog:
    """The outbox's backlog now."""
    async with engine.connect() as conn:
        rows = int(await conn.scalar(UNPUBLISHED_ROWS) or 0)
        oldest: datetime | None = await conn.scalar(OLDEST_UNPUBLISHED) if rows else None
    return Backlog(rows, max((now - oldest).total_seconds(), 0.0) if oldest else 0.0)


async def sample_outbox(engine: AsyncEngine, clock: Callable[[], datetime] = utcnow) -> None:
    """Keep `poverty_outbox_backlog` and `poverty_outbox_oldest_unpublished_age_seconds` current until cancelled. A
    sample that fails (the database away) leaves the last values; readiness reports the database."""
    while True:
        try:
            async with asyncio.timeout(SAMPLE_TIMEOUT_S):  # not wait_for, which on 3.11 can lose a cancellation
                backlog = await outbox_backlog(engine, now=clock())
        except Exception as exc:
            log.warning("could not sample the outbox backlog", extra={"error_type": type(exc).__name__})
        else:
            OUTBOX_BACKLOG.set(backlog.rows)
            OUTBOX_OLDEST_AGE.set(backlog.oldest_age_s)
        await asyncio.sleep(SAMPLE_INTERVAL_S)

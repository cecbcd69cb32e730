"""The outbox relay: publishes committed outbox rows to Kafka, in order, and marks them published.

Only one relay per database publishes: on PostgreSQL it holds a session-level advisory lock on a
dedicated connection, which also LISTENs for the NOTIFY that an outbox write sends at commit, so rows
written by any replica wake the active relay at once (a commit in the leader's own process wakes it there,
without a NOTIFY). A short fallback poll covers lost wake-ups.
Rows go out in passes: the next batch is read (`shared.messaging.backlog`) while the current one is in
flight (`shared.messaging.publication`), and rows are marked in bulk as Kafka acknowledges them, off
the send path. A pass is over once Kafka answered it: the next one reads and sends while its rows are
marked. A crash between publishing and marking republishes those rows (at most two batches' worth);
consumers' inboxes absorb the repeat. A send that fails fatally (see `is_fatal`) has the shared
producer replaced before the next pass. Each row is published in a PRODUCER span, child of the trace
context saved with it, whose own context goes with the record as its `traceparent` header
(`shared.tracing`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import BigInteger, Update, bindparam, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.db import is_postgres, one_of_parameter
from shared.messaging.backlog import ReadAhead
from shared.messaging.kafka import SharedProducer
from shared.messaging.outbox import NOTIFY_CHANNEL, OUTBOX, OutboxSignal
from shared.messaging.publication import Sending
from shared.metrics import RELAY_LEADER
from shared.timeutil import utcnow

log = logging.getLogger(__name__)
RELAY_LOCK_KEY = 0x0B0E_7E1A  # one advisory lock per service database
# A closed lock connection is seen before every batch without a round trip; a live one that no notification has
# proven lately is asked at most this often (a connection cut without the socket closing, as a network split).
LOCK_CHECK_INTERVAL_S = 1.0
# A pass reads at most this many batches ahead before starting again from the oldest unpublished row.
PASS_BATCHES = 50


class LeadershipLost(Exception):
    """The connection that held the relay's lock is gone: another relay may publish now."""


class Backoff:
    """Exponential backoff with a cap, reset after a success."""

    def __init__(self, first: float = 0.2, cap: float = 5.0) -> None:
        self.first, self.cap, self.current = first, cap, first

    async def sleep(self) -> None:
        await asyncio.sleep(self.next_delay())

    def next_delay(self) -> float:
        """The pause to take now; the next one doubles, up to the cap."""
        delay, self.current = self.current, min(self.current * 2, self.cap)
        return delay

    def reset(self) -> None:
        self.current = self.first


class OutboxRelay:
    """Moves outbox rows to Kafka; run it as a background task for the service's lifetime."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        producer: SharedProducer,
        signal: OutboxSignal,
        batch_size: int = 2000,
        poll_interval_s: float = 5.0,
        standby_interval_s: float = 2.0,
    ) -> None:
        self._engine, self._producer, self._signal = engine, producer, signal
        self._batch_size, self._poll, self._standby = batch_size, poll_interval_s, standby_interval_s
        self._leader = False
        self._lock_conn: AsyncConnection | None = None
        self._lock_driver: Any = None  # the lock connection's asyncpg connection
        self._lock_proven_at = 0.0
        self.published = 0  # rows marked published by this relay

    @property
    def is_leader(self) -> bool:
        """Whether this relay publishes (holds the lock, or is SQLite's only one); also `poverty_relay_leader`."""
        return self._leader

    @is_leader.setter
    def is_leader(self, leader: bool) -> None:
        self._leader = self._signal.relay_leads_here = leader
        RELAY_LEADER.set(1 if leader else 0)

    async def run(self) -> None:
        """Publish until cancelled, surviving database and broker outages with backoff."""
        backoff = Backoff()
        while True:
            try:
                async with self._leadership() as leader:
                    if not leader:
                        await asyncio.sleep(self._standby)
                        continue
                    await self._pump(backoff)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("outbox relay lost its database connection; retrying", exc_info=True)
                await backoff.sleep()

    async def publish_pending(self) -> int:
        """Publish the unpublished rows in id order until none is left; return how many were published, or raise
        the first failure once the rows Kafka did acknowledge are marked."""
        before = self.published
        last = await self._publish_until_caught_up(None)
        await _marked(last)
        if last.failure is not None:
            raise last.failure
        return self.published - before

    async def _publish_pass(self, behind: Sending | None) -> tuple[Sending, bool]:
        """One pass from the oldest unpublished row, leaving out those of the pass `behind` that are being marked
        (Kafka answered them already). It returns once Kafka answered this pass's rows, leaving them to be
        marked meanwhile; the pass behind is marked by then. It returns this pass's sending and whether it caught up,
        or raises the first failure of either pass once both are marked."""
        producer = self._producer.current
        ahead = ReadAhead(self._engine, self._batch_size, PASS_BATCHES, behind.being_marked if behind else list)
        # Room for one batch being marked while the next is sent: marking is the slower half.
        window = 2 * self._batch_size
        sending = Sending(producer, self._mark_published, window, self._check_leadership, behind)
        behind_sending = [behind] if behind else []
        try:
            async with ahead, sending:
                while rows := await ahead.next():
                    # Before every batch: a database restart ends the lock with its connection, and a standby takes it
                    # at once; publishing on would publish every row twice, out of order.
                    await self._check_leadership()
                    if not await sending.send(rows):
                        break
            await _marked(*behind_sending)
        except asyncio.CancelledError:
            await _abandon(sending, *behind_sending)
            raise
        except BaseException:
            await _marked(sending, *behind_sending)
            raise
        failure = sending.failure or (behind.failure if behind else None)
        if failure is not None:
            await _marked(sending)
            await self._producer.recover(producer, failure)  # replaced only after a fatal error of Kafka's
            raise failure
        return sending, ahead.caught_up

    async def _pump(self, backoff: Backoff) -> None:
        behind: Sending | None = None
        try:
            while True:
                await self._check_leadership()
                try:
                    behind = await self._publish_until_caught_up(behind)
                    backoff.reset()
                except (asyncio.CancelledError, LeadershipLost):
                    raise
                except Exception:
                    behind = None
                    log.warning("outbox publish failed; will retry", exc_info=True)
                    await backoff.sleep()
                    continue
                await self._signal.wait(self._poll)
        except asyncio.CancelledError:
            if behind is not None:
                await _abandon(behind)
            raise
        except BaseException:
            if behind is not None:
                await _marked(behind)
            raise

    async def _publish_until_caught_up(self, behind: Sending | None) -> Sending:
        """Passes until one catches up; its sending is returned, its rows perhaps still being marked."""
        while True:
            behind, caught_up = await self._publish_pass(behind)
            if caught_up:
                return behind

    async def _mark_published(self, ids: list[int]) -> None:
        # Shielded: a relay stopping (its lock lost) cancels the marker, and a statement cancelled mid-flight hands
        # its connection back to the pool with the operation unfinished; the next user of it fails.
        await asyncio.shield(self._mark(ids))
        self.published += len(ids)

    async def _mark(self, ids: list[int]) -> None:
        async with self._engine.connect() as conn:
            # One statement, its own transaction: a round trip, where BEGIN and COMMIT would take three. The relay's
            # event loop is busy sending, and each round trip waits for it.
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(_marking(self._engine.dialect.name), {"ids": ids, "at": utcnow()})

    @asynccontextmanager
    async def _leadership(self) -> AsyncIterator[bool]:
        if not is_postgres(self._engine):
            self.is_leader = True  # SQLite is the single-process embedded default
            try:
                yield True
            finally:
                self.is_leader = False
            return
        async with self._engine.connect() as conn:
            leader = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": RELAY_LOCK_KEY}))
            await conn.commit()
            self.is_leader = leader
            try:
                if leader:
                    await self._listen(conn)
                yield leader
            finally:
                self.is_leader, self._lock_conn, self._lock_driver = False, None, None
                # Closing the connection (not returning it to the pool) releases the lock and the LISTEN.
                await conn.invalidate()

    async def _listen(self, conn: AsyncConnection) -> None:
        raw = await conn.get_raw_connection()
        self._lock_conn, self._lock_driver = conn, raw.driver_connection
        self._lock_proven_at = time.monotonic()
        await self._lock_driver.add_listener(NOTIFY_CHANNEL, self._notified)

    def _notified(self, *_: object) -> None:
        self._lock_proven_at = time.monotonic()  # a notification came over the lock's own session: it is alive
        self._signal.set()

    async def _check_leadership(self) -> None:
        if self._lock_conn is None:
            return
        if self._lock_driver.is_closed():
            raise LeadershipLost
        if time.monotonic() - self._lock_proven_at >= LOCK_CHECK_INTERVAL_S:
            await self._lock_conn.execute(text("SELECT 1"))  # fails on a connection that is gone
            await self._lock_conn.commit()
            self._lock_proven_at = time.monotonic()


async def _marked(*sendings: Sending) -> None:
    """Wait until their acknowledged rows are marked; cancelled meanwhile, stop marking them (the next relay publishes
    them again)."""
    try:
        for sending in sendings:
            await sending.marked()
    except asyncio.CancelledError:
        await _abandon(*sendings)
        raise


async def _abandon(*sendings: Sending) -> None:
    """Stop marking (stopping: the next relay publishes the unmarked rows again)."""
    for sending in sendings:
        await sending.abandon()


@functools.cache
def _marking(dialect: str) -> Update:
    """Marks the rows `ids` published `at` (built once: one built per batch is keyed for the cache every time)."""
    published = one_of_parameter(dialect, OUTBOX.c.id, "ids", BigInteger)
    return update(OUTBOX).where(published).values(published_at=bindparam("at", type_=OUTBOX.c.published_at.type))

"""The outbox relay: publishes committed outbox rows to Kafka, in order, and marks them published.

Only one relay per database publishes: on PostgreSQL it holds a session-level advisory lock on a
dedicated connection, which also LISTENs for the NOTIFY that every outbox write sends at commit, so
rows written by any replica wake the active relay at once. A short fallback poll covers lost wake-ups.
A crash between publishing and marking republishes those rows; consumers' inboxes absorb the repeat.
Each row is marked once Kafka has acknowledged it, even when others in its batch failed; a send that
fails fatally (see `is_fatal`) has the shared producer replaced before the next attempt.
Each row is published in a PRODUCER span, child of the trace context saved with it, whose own context goes with the
record as its `traceparent` header (`shared.tracing`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from functools import partial
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import BigInteger, Row, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.db import is_postgres, one_of
from shared.messaging.kafka import SharedProducer
from shared.messaging.outbox import NOTIFY_CHANNEL, OUTBOX, PUBLISHED_FIELDS, OutboxSignal, envelope_of
from shared.metrics import OUTBOX_PUBLISHED, RELAY_LEADER
from shared.timeutil import utcnow
from shared.tracing import end_publish_span, start_publish_span, traceparent_of

log = logging.getLogger(__name__)
RELAY_LOCK_KEY = 0x0B0E_7E1A  # one advisory lock per service database
UNPUBLISHED = select(*PUBLISHED_FIELDS).where(OUTBOX.c.published_at.is_(None)).order_by(OUTBOX.c.id)


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
        batch_size: int = 500,
        poll_interval_s: float = 5.0,
        standby_interval_s: float = 2.0,
    ) -> None:
        self._engine, self._producer, self._signal = engine, producer, signal
        self._batch_size, self._poll, self._standby = batch_size, poll_interval_s, standby_interval_s
        self._leader = False
        self._lock_conn: AsyncConnection | None = None

    @property
    def is_leader(self) -> bool:
        """Whether this relay publishes (holds the lock, or is SQLite's only one); also `poverty_relay_leader`."""
        return self._leader

    @is_leader.setter
    def is_leader(self, leader: bool) -> None:
        self._leader = leader
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
        """Publish one batch of unpublished rows in id order; return how many were published, or raise the first
        failure once the rows Kafka did acknowledge are marked."""
        async with self._engine.connect() as conn:
            rows = (await conn.execute(UNPUBLISHED.limit(self._batch_size))).all()
        if not rows:
            return 0
        producer = self._producer.current
        sent, failure = await self._send(producer, rows)
        if sent:
            await self._mark_published(sent)
            OUTBOX_PUBLISHED.inc(len(sent))
        if failure is not None:
            await self._producer.recover(producer, failure)
            raise failure
        return len(rows)

    async def _pump(self, backoff: Backoff) -> None:
        while True:
            # Before every batch, a backlog's too: a database restart ends the lock with its connection, and a
            # standby takes it at once; publishing on would publish every row twice, out of order.
            await self._check_leadership()
            try:
                published = await self.publish_pending()
                backoff.reset()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("outbox publish failed; will retry", exc_info=True)
                await backoff.sleep()
                continue
            if published < self._batch_size:
                await self._signal.wait(self._poll)

    async def _send(
        self, producer: AIOKafkaProducer, rows: Sequence[Row[Any]]
    ) -> tuple[list[int], BaseException | None]:
        """The ids of the rows Kafka acknowledged, and the first failure. The whole batch is enqueued first so the
        producer batches it (per-partition order is kept); each row's acknowledgement then counts on its own."""
        futures: list[asyncio.Future[Any]] = []
        failure: BaseException | None = None
        for row in rows:
            # A PRODUCER span per row, child of the context saved with it; the header carries the span's own.
            span = start_publish_span(row)
            try:
                envelope = replace(envelope_of(row), traceparent=traceparent_of(span))
                value, headers = row.payload.encode(), envelope.to_headers()
                future = await producer.send(row.topic, value, key=row.key.encode(), headers=headers)
            except Exception as exc:
                end_publish_span(span, exc)
                failure = exc  # the later rows wait for the next attempt, behind this one
                break
            future.add_done_callback(partial(end_publish_span, span))
            futures.append(future)
        results = await asyncio.gather(*futures, return_exceptions=True)
        # After a failed enqueue there are fewer results than rows: only the enqueued rows can have been sent.
        acked = zip(rows, results, strict=False)
        sent = [row.id for row, result in acked if not isinstance(result, BaseException)]
        errors = [result for result in results if isinstance(result, BaseException)]
        return sent, errors[0] if errors else failure

    async def _mark_published(self, ids: list[int]) -> None:
        published = one_of(self._engine.dialect, OUTBOX.c.id, ids, BigInteger)
        async with self._engine.begin() as conn:
            await conn.execute(update(OUTBOX).where(published).values(published_at=utcnow()))

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
            self._lock_conn = conn
            leader = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": RELAY_LOCK_KEY}))
            await conn.commit()
            self.is_leader = leader
            try:
                if leader:
                    await self._listen(conn)
                yield leader
            finally:
                self.is_leader, self._lock_conn = False, None
                # Closing the connection (not returning it to the pool) releases the lock and the LISTEN.
                await conn.invalidate()

    async def _listen(self, conn: AsyncConnection) -> None:
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        await driver.add_listener(NOTIFY_CHANNEL, lambda *_: self._signal.set())

    async def _check_leadership(self) -> None:
        if self._lock_conn is not None:
            await self._lock_conn.execute(text("SELECT 1"))  # a dead lock connection means we lost the lock
            await self._lock_conn.commit()

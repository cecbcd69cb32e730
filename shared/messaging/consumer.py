"""The one consumer runner: each event applied exactly once in effect, poison events dead-lettered.

For every record: decode the CloudEvent, validate the payload against its contract, then in a
database transaction claim the event id in the inbox and run the handler. Offsets are committed to
Kafka only after that transaction has committed. Infrastructure failures (database or network down)
are retried without limit, with backoff; a handler that keeps failing is retried `max_attempts` times
and then the record goes to `<topic>.dlq` with the error in its headers, and the consumer moves on.

Partitions are consumed side by side, each in its own transaction; within a partition, order is kept.
Records waiting on one partition are applied up to `batch_size` per transaction, in order: a commit
costs more than most handlers, so under load one commit serves many events, while at low rates a
batch is the one record that arrived and adds no wait. Each record still claims its own inbox row in
that transaction. A batch that fails for a reason other than the infrastructure is rolled back and
its records applied one per transaction, which isolates the poison record and applies the rest.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contracts import dead_letter_topic
from shared.db import unit_of_work
from shared.failures import is_transient
from shared.messaging import inbox
from shared.messaging.cloudevents import Envelope, MalformedEvent
from shared.messaging.handlers import Application, HandlerRegistry
from shared.messaging.relay import Backoff
from shared.metrics import EVENT_HANDLING_SECONDS, EVENTS_CONSUMED

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Work:
    """A decoded record and the work its event asks for."""

    record: ConsumerRecord[bytes, bytes]
    envelope: Envelope
    application: Application


class ConsumerRunner:
    """Consumes a service's subscribed topics into its database through the inbox."""

    def __init__(
        self,
        *,
        name: str,
        handlers: HandlerRegistry,
        sessions: async_sessionmaker[AsyncSession],
        consumer: AIOKafkaConsumer,
        dlq_producer: AIOKafkaProducer,
        max_attempts: int = 5,
        backoff_s: float = 0.2,
        batch_size: int = 100,
    ) -> None:
        self.name, self._handlers, self._sessions = name, handlers, sessions
        self._consumer, self._dlq = consumer, dlq_producer
        self._max_attempts, self._backoff_s, self._batch_size = max_attempts, backoff_s, batch_size

    async def run(self) -> None:
        """Consume until cancelled."""
        backoff = Backoff()
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=1000, max_records=500)
                # Partitions are independent streams: their transactions run side by side.
                await asyncio.gather(*(self._consume(tp, records) for tp, records in batches.items()))
                backoff.reset()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("consumer loop failed; retrying", extra={"consumer": self.name})
                await backoff.sleep()

    async def _consume(self, tp: TopicPartition, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        await self.process(records)
        await self._commit(tp, records[-1].offset + 1)

    async def process(self, records: list[ConsumerRecord[bytes, bytes]]) -> list[str]:
        """Apply one partition's records in order; returns each one's outcome, in the order finished
        (applied, duplicate, ignored, dead_lettered)."""
        outcomes: list[str] = []
        work: list[_Work] = []
        for record in records:
            try:
                envelope = Envelope.from_record(record.headers, record.value)
                application = self._handlers.bind(record.topic, envelope)
            except (MalformedEvent, ValidationError) as exc:
                outcomes.append(await self._dead_letter(record, exc, attempts=1))
                continue
            if application is None:
                outcomes.append(self._count("ignored"))
            else:
                work.append(_Work(record, envelope, application))
        for start in range(0, len(work), self._batch_size):
            outcomes += await self._apply_batch(work[start : start + self._batch_size])
        return outcomes

    async def _apply_batch(self, batch: list[_Work]) -> list[str]:
        if len(batch) == 1:
            return [await self._apply(batch[0])]
        backoff = Backoff(self._backoff_s)
        while True:
            claimed: list[bool] = []
            try:
                await self._transact(batch, claimed)
                return [self._count("applied" if fresh else "duplicate") for fresh in claimed]
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not is_transient(exc):
                    return await self._apply_one_by_one(batch, failing=len(claimed))
                log.warning("event batch failed; retrying", extra={"consumer": self.name}, exc_info=True)
                await backoff.sleep()

    async def _apply_one_by_one(self, batch: list[_Work], *, failing: int) -> list[str]:
        """Replay a failed batch one record per transaction; the record that failed (none if the commit did)
        has spent one of its attempts already."""
        log.info("event batch failed; applying it one event per transaction", extra={"consumer": self.name})
        return [await self._apply(work, spent=int(n == failing)) for n, work in enumerate(batch)]

    async def _apply(self, work: _Work, *, spent: int = 0) -> str:
        attempts = spent
        backoff = Backoff(self._backoff_s)
        while True:
            claimed: list[bool] = []
            try:
                await self._transact([work], claimed)
                return self._count("applied" if claimed[0] else "duplicate")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not is_transient(exc):
                    attempts += 1
                    if attempts >= self._max_attempts:
                        return await self._dead_letter(work.record, exc, attempts=attempts)
                log.warning(
                    "event handling failed; retrying",
                    extra={
                        "consumer": self.name,
                        "event_id": work.envelope.id,
                        "event_type": work.envelope.type,
                        "attempt": attempts,
                        "transient": is_transient(exc),
                    },
                    exc_info=True,
                )
                await backoff.sleep()

    async def _transact(self, batch: list[_Work], claimed: list[bool]) -> None:
        started = time.perf_counter()
        async with unit_of_work(self._sessions) as session:
            await self._claim_and_apply(session, batch, claimed)
        # Each event's handling time is its share of the transaction that applied it.
        share = (time.perf_counter() - started) / len(batch)
        for _ in batch:
            EVENT_HANDLING_SECONDS.labels(self.name).observe(share)

    async def _claim_and_apply(self, session: AsyncSession, batch: list[_Work], claimed: list[bool]) -> None:
        """Claim the batch's events in the inbox, then apply the fresh ones in order; `claimed` grows as
        they are done, so on a failure its length is the index of the record that failed."""
        fresh = await inbox.claim(session, consumer=self.name, events=[(w.envelope.id, w.envelope.type) for w in batch])
        await self._handlers.prepare_all(session, [w.application for w in batch if w.envelope.id in fresh])
        for work in batch:
            is_fresh = work.envelope.id in fresh
            if is_fresh:
                fresh.discard(work.envelope.id)  # the same event twice in a batch is applied once
                await work.application(session)
            claimed.append(is_fresh)

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], exc: BaseException, *, attempts: int) -> str:
        headers = [*record.headers, *_error_headers(self.name, record, exc, attempts)]
        backoff = Backoff()
        while True:
            try:
                await self._dlq.send_and_wait(
                    dead_letter_topic(record.topic), record.value, key=record.key, headers=headers
                )
                break
            except KafkaError:
                log.warning("dead-letter publish failed; retrying", exc_info=True)
                await backoff.sleep()
        log.error(
            "event dead-lettered",
            extra={
                "consumer": self.name,
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "error_type": type(exc).__name__,
            },
        )
        return self._count("dead_lettered")

    async def _commit(self, tp: TopicPartition, offset: int) -> None:
        if tp not in self._consumer.assignment():
            return  # revoked while we worked: the new owner re-reads, the inbox absorbs the repeat
        try:
            await self._consumer.commit({tp: offset})
        except (CommitFailedError, IllegalStateError):
            log.warning("offset commit refused after a rebalance", extra={"consumer": self.name}, exc_info=True)
        except KafkaError:
            # The records are applied; a later commit covers them, and a re-read is absorbed by the inbox.
            log.warning("offset commit failed", extra={"consumer": self.name}, exc_info=True)

    def _count(self, outcome: str) -> str:
        EVENTS_CONSUMED.labels(self.name, outcome).inc()
        return outcome


def _error_headers(
    consumer: str, record: ConsumerRecord[bytes, bytes], exc: BaseException, attempts: int
) -> list[tuple[str, bytes]]:
    # Validation errors are reduced to field and message: pydantic's text would echo the input.
    if isinstance(exc, ValidationError):
        message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    else:
        message = str(exc)
    return [
        ("dlq_consumer", consumer.encode()),
        ("dlq_error_type", type(exc).__name__.encode()),
        ("dlq_error_message", message[:500].encode()),
        ("dlq_attempts", str(attempts).encode()),
        ("dlq_source_topic", record.topic.encode()),
        ("dlq_source_partition", str(record.partition).encode()),
        ("dlq_source_offset", str(record.offset).encode()),
    ]

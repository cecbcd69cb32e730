"""The one consumer runner: each event applied exactly once in effect, poison events dead-lettered.

For every record: decode the CloudEvent, validate the payload against its contract, then in one
database transaction claim the event id in the inbox and run the handler. Offsets are committed to
Kafka only after that transaction has committed. Infrastructure failures (database or network down)
are retried without limit, with backoff; a handler that keeps failing is retried `max_attempts` times
and then the record goes to `<topic>.dlq` with the error in its headers, and the consumer moves on.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contracts import dead_letter_topic
from shared.db import unit_of_work
from shared.messaging import inbox
from shared.messaging.cloudevents import Envelope, MalformedEvent
from shared.messaging.handlers import Application, HandlerRegistry
from shared.messaging.relay import Backoff
from shared.metrics import EVENT_HANDLING_SECONDS, EVENTS_CONSUMED

log = logging.getLogger(__name__)


RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock: the next try can win


def is_transient(exc: BaseException) -> bool:
    """Failures of the infrastructure or of concurrency, not of the event: retrying later can succeed."""
    if isinstance(exc, DBAPIError) and (exc.connection_invalidated or _sqlstate(exc) in RETRYABLE_SQLSTATES):
        return True
    return isinstance(exc, OperationalError | InterfaceError | OSError | TimeoutError | KafkaError)


def _sqlstate(exc: DBAPIError) -> str | None:
    for candidate in (exc.orig, getattr(exc.orig, "__cause__", None)):
        state = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(state, str):
            return state
    return None


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
    ) -> None:
        self.name, self._handlers, self._sessions = name, handlers, sessions
        self._consumer, self._dlq = consumer, dlq_producer
        self._max_attempts, self._backoff_s = max_attempts, backoff_s

    async def run(self) -> None:
        """Consume until cancelled."""
        backoff = Backoff()
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=1000, max_records=500)
                for tp, records in batches.items():
                    for record in records:
                        await self.process(record)
                    await self._commit(tp, records[-1].offset + 1)
                backoff.reset()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("consumer loop failed; retrying", extra={"consumer": self.name})
                await backoff.sleep()

    async def process(self, record: ConsumerRecord[bytes, bytes]) -> str:
        """Apply one record; returns the outcome (applied, duplicate, ignored, dead_lettered)."""
        try:
            envelope = Envelope.from_record(record.headers, record.value)
            application = self._handlers.bind(record.topic, envelope)
        except (MalformedEvent, ValidationError) as exc:
            return await self._dead_letter(record, exc, attempts=1)
        if application is None:
            return self._count("ignored")
        return await self._apply(record, envelope, application)

    async def _apply(self, record: ConsumerRecord[bytes, bytes], envelope: Envelope, application: Application) -> str:
        attempts = 0
        backoff = Backoff(self._backoff_s)
        while True:
            started = time.perf_counter()
            try:
                async with unit_of_work(self._sessions) as session:
                    fresh = await inbox.claim(
                        session, consumer=self.name, event_id=envelope.id, event_type=envelope.type
                    )
                    if fresh:
                        await application(session)
                EVENT_HANDLING_SECONDS.labels(self.name).observe(time.perf_counter() - started)
                return self._count("applied" if fresh else "duplicate")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not is_transient(exc):
                    attempts += 1
                    if attempts >= self._max_attempts:
                        return await self._dead_letter(record, exc, attempts=attempts)
                log.warning(
                    "event handling failed; retrying",
                    extra={
                        "consumer": self.name,
                        "event_id": envelope.id,
                        "event_type": envelope.type,
                        "attempt": attempts,
                        "transient": is_transient(exc),
                    },
                    exc_info=True,
                )
                await backoff.sleep()

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

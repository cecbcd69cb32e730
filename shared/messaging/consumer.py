"""The one consumer runner: each event applied exactly once in effect, poison events dead-lettered.

For every record: decode the CloudEvent, validate the payload against its contract, then in a
database transaction claim the event id in the inbox and run the handler (`shared.messaging.applying`). Offsets are
committed to Kafka only after that transaction has committed. A record that is not a valid event, or whose handler
keeps failing, goes to `<topic>.dlq` with the error in its headers (`shared.messaging.dead_letters`), and the
consumer moves on.

Partitions are consumed side by side, each in a task and transactions of its own, while the next records are
fetched. A partition is worked on by one task at a time, in order: records fetched while its task runs wait in hand
and are applied next. It stays in the fetch meanwhile: the Kafka client sends no fetch to a broker while one is
waiting there (up to `fetch_max_wait_ms`), so a partition paused and resumed while it waits would have its next
record wait too; only one holding a batch of records in hand is paused. The offsets of the partitions whose tasks
finished are committed in one request.
Records waiting on one partition are applied up to `batch_size` per transaction, in order: a commit
costs more than most handlers, so under load one commit serves many events, while at low rates a
batch is the one record that arrived and adds no wait. Each record still claims its own inbox row in
that transaction.

Nothing fetched is ever skipped. When a partition's processing fails otherwise (a dead letter Kafka
refuses for good, a bug), what was done is committed and the partition is rewound to its first record
not done and paused for a growing delay, then read again; the other partitions go on meanwhile
(`shared.messaging.partitions`). A record the Kafka client cannot even unpack is quarantined with its raw bytes and
its partition moves on (`shared.messaging.fetching`).

Dead-letter headers and log lines name an error by its type, and a database error by its SQLSTATE and
constraint, never by its text (`shared.messaging.failure_facts`).

Each event is handled in a CONSUMER span whose parent is the `traceparent` its record carries (`shared.tracing`),
so the events its handler records, and the log lines it writes, continue the trace that caused it. The runner's own
lines about an event (a retry, its dead-lettering) are written inside that span too, and a poison record gets one,
parented on its `traceparent` header when that can be read.
"""

from __future__ import annotations

import asyncio
import logging
from typing import NamedTuple

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.messaging.applying import Applier, Work
from shared.messaging.cloudevents import Envelope, MalformedEvent
from shared.messaging.consumed import count
from shared.messaging.dead_letters import DeadLetters
from shared.messaging.fetching import Fetched, Fetcher
from shared.messaging.handlers import HandlerRegistry
from shared.messaging.kafka import SharedProducer
from shared.messaging.lag import ConsumerLag
from shared.messaging.partitions import Partitions
from shared.messaging.relay import Backoff
from shared.tracing import consuming_record, mark_failed

log = logging.getLogger(__name__)
LAG_REFRESH_S = 5.0  # how often the lag is refreshed from the brokers' end offsets, fetching or not


class _Stalled(Exception):
    """A partition's processing stopped at `offset`: the records before it are done, it and later ones are not."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"stalled at offset {offset}")
        self.offset = offset


class _Working(NamedTuple):
    """A partition's records being applied, the task applying them, and the records fetched since, in order."""

    records: list[ConsumerRecord[bytes, bytes]]
    task: asyncio.Task[list[str]]
    waiting: list[ConsumerRecord[bytes, bytes]]

    @property
    def last_offset(self) -> int:
        return int((self.waiting or self.records)[-1].offset)


class ConsumerRunner:
    """Consumes a service's subscribed topics into its database through the inbox."""

    def __init__(
        self,
        *,
        name: str,
        handlers: HandlerRegistry,
        sessions: async_sessionmaker[AsyncSession],
        consumer: AIOKafkaConsumer,
        dlq_producer: SharedProducer | AIOKafkaProducer,
        max_attempts: int = 5,
        backoff_s: float = 0.2,
        batch_size: int = 500,
    ) -> None:
        self.name, self._handlers, self._consumer, self._batch_size = name, handlers, consumer, batch_size
        self._dead_letters = DeadLetters(name, dlq_producer)
        self._applier = Applier(
            name=name,
            handlers=handlers,
            sessions=sessions,
            dead_letters=self._dead_letters,
            max_attempts=max_attempts,
            backoff_s=backoff_s,
        )
        self._partitions = Partitions(consumer, name=name, backoff_s=backoff_s)
        self._fetcher = Fetcher(consumer, sessions, self._partitions, name=name, batch_size=batch_size)
        self._lag = ConsumerLag(consumer)
        self.lag_refresh_s = LAG_REFRESH_S

    async def run(self) -> None:
        """Consume until cancelled."""
        # The lag is refreshed from the brokers' end offsets on the side: while a batch is retried or a partition
        # stalled nothing is fetched, and the high watermark a fetch brings would freeze.
        refresher = asyncio.create_task(self._lag.refresh_every(self.lag_refresh_s))
        try:
            await self._run()
        finally:
            refresher.cancel()
            await asyncio.gather(refresher, return_exceptions=True)

    async def _run(self) -> None:
        backoff = Backoff()
        working: dict[TopicPartition, _Working] = {}
        fetching: asyncio.Task[Fetched] | None = None
        try:
            while True:
                try:
                    if fetching is None:
                        self._partitions.resume_due()
                        fetching = asyncio.create_task(self._fetcher.fetch())
                    tasks = [fetching, *(work.task for work in working.values())]
                    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                    await self._finish(working)
                    if fetching.done():
                        fetched, fetching = fetching, None
                        self._start(fetched.result(), working)
                    await self._lag.observe({tp: work.records for tp, work in working.items()})
                    backoff.reset()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("consumer loop failed; retrying", extra={"consumer": self.name})
                    await backoff.sleep()
        finally:
            unfinished = [task for task in (fetching, *(work.task for work in working.values())) if task]
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)

    def _start(self, batches: Fetched, working: dict[TopicPartition, _Working]) -> None:
        """Apply each partition's records in a task of its own while the next records are fetched. Records of a
        partition whose task runs wait until it is done, so a partition is never worked on by two tasks at once and
        its order is kept; a batch of them waiting pauses it."""
        assigned = self._consumer.assignment()
        for tp, records in batches.items():
            if tp not in assigned or self._partitions.is_held(tp):
                continue  # revoked since the fetch, or rewound after a stall: read again from where it is done
            work = working.get(tp)
            if work is None:
                working[tp] = self._working(records)
            elif records[0].offset > work.last_offset:
                work.waiting.extend(records)
                if len(work.waiting) >= self._batch_size:
                    self._consumer.pause(tp)
            else:  # read again from what is committed (assigned again): once the task is done, from there
                work.waiting.clear()
                self._consumer.seek(tp, records[0].offset)
                self._consumer.pause(tp)

    def _working(self, records: list[ConsumerRecord[bytes, bytes]]) -> _Working:
        return _Working(records, asyncio.create_task(self.process(records)), [])

    async def _finish(self, working: dict[TopicPartition, _Working]) -> None:
        """Commit what the finished tasks did, in one request, and start on the records waiting behind them; a
        partition whose task failed is rewound and held (`_stall`), its waiting records read again later."""
        done: dict[TopicPartition, int] = {}
        applied: list[TopicPartition] = []
        assigned = self._consumer.assignment()
        for tp in [tp for tp, work in working.items() if work.task.done()]:
            records, task, waiting = working.pop(tp)
            failure = task.exception()
            if failure is not None:
                offset = self._stall(tp, records, failure)
                if offset > records[0].offset:
                    done[tp] = offset
            else:
                self._partitions.moved_on(tp)
                done[tp] = records[-1].offset + 1
                applied.append(tp)
                if waiting and tp in assigned:  # else revoked meanwhile: the new owner reads them
                    working[tp] = self._working(waiting)
        await self._partitions.commit(done)
        assigned = self._consumer.assignment()
        for tp in applied:
            if tp in assigned:
                self._consumer.resume(tp)

    def _stall(self, tp: TopicPartition, records: list[ConsumerRecord[bytes, bytes]], exc: BaseException) -> int:
        """Rewind a failed partition to its first record not done and pause it: the consumer's position is already
        past the fetched records, so without the rewind they would be skipped and a later commit would cover them.
        Returns that offset (the records before it are done)."""
        offset = exc.offset if isinstance(exc, _Stalled) else records[0].offset
        cause = exc.__cause__ if isinstance(exc, _Stalled) and exc.__cause__ else exc
        delay = self._partitions.stall_delay(tp, cause, "partition stalled; reading it again soon", offset=offset)
        stalled_at = next((r for r in records if r.offset == offset), records[0])
        count("failed", stalled_at)
        if tp in self._consumer.assignment():  # else revoked meanwhile: the new owner reads from the committed offset
            self._consumer.seek(tp, offset)
            self._partitions.hold(tp, delay)
        return offset

    async def process(self, records: list[ConsumerRecord[bytes, bytes]]) -> list[str]:
        """Apply one partition's records in offset order; returns each one's outcome, in the order finished
        (applied, duplicate, ignored, dead_lettered). Raises `_Stalled` at the first record not done when one can
        be neither applied nor dead-lettered."""
        outcomes: list[str] = []
        pending: list[Work] = []
        for record in records:
            decoded = self._decode(record)
            if isinstance(decoded, Work):
                pending.append(decoded)
            elif decoded is None:
                outcomes.append("ignored")
            else:
                # The events before a poison record are done first, so a failure leaves one offset to resume at.
                outcomes += await self._flush(pending)
                outcomes.append(await self._poison(record, decoded))
            if len(pending) == self._batch_size:
                outcomes += await self._flush(pending)
        return outcomes + await self._flush(pending)

    def _decode(self, record: ConsumerRecord[bytes, bytes]) -> Work | Exception | None:
        """The record's work, the reason it is poison, or None when no handler wants it."""
        try:
            envelope = Envelope.from_record(record.headers, record.value)
            application = self._handlers.bind(record.topic, envelope)
        except (MalformedEvent, ValidationError) as exc:
            return exc
        return None if application is None else Work(record, envelope, application)

    async def _flush(self, pending: list[Work]) -> list[str]:
        """Apply and empty the pending work."""
        batch = pending.copy()
        pending.clear()
        if not batch:
            return []
        try:
            return await self._applier.apply_batch(batch)
        except Exception as exc:
            raise _Stalled(batch[0].record.offset) from exc

    async def _poison(self, record: ConsumerRecord[bytes, bytes], exc: Exception) -> str:
        with consuming_record(record, consumer=self.name) as span:
            mark_failed(span, exc)
            try:
                return await self._dead_letters.send(record, exc, attempts=1)
            except Exception as failure:
                raise _Stalled(record.offset) from failure

"""The one consumer runner: each event applied exactly once in effect, poison events dead-lettered.

For every record: decode the CloudEvent, validate the payload against its contract, then in a
database transaction claim the event id in the inbox and run the handler. Offsets are committed to
Kafka only after that transaction has committed. Infrastructure failures (database or network down)
are retried without limit, with backoff; a handler that keeps failing is tried `max_attempts` times in all
and then the record goes to `<topic>.dlq` with the error in its headers, and the consumer moves on.

Partitions are consumed side by side, each in its own transaction; within a partition, order is kept. Once every
partition of a fetch is done, their offsets are committed in one request.
Records waiting on one partition are applied up to `batch_size` per transaction, in order: a commit
costs more than most handlers, so under load one commit serves many events, while at low rates a
batch is the one record that arrived and adds no wait. Each record still claims its own inbox row in
that transaction. A batch that fails for a reason other than the infrastructure is rolled back and
its records applied one per transaction, which isolates the poison record and applies the rest.

Nothing fetched is ever skipped. When a partition's processing fails otherwise (a dead letter Kafka
refuses for good, a bug), what was done is committed and the partition is rewound to its first record
not done and paused for a growing delay, then read again; the other partitions go on meanwhile. A record the Kafka
client cannot even unpack is quarantined with its raw bytes and its partition moves on (`shared.messaging.quarantine`).

Dead-letter headers and log lines name an error by its type, and a database error by its SQLSTATE and
constraint, never by its text: a database's message quotes the failing row's values (personal data).

Each event is handled in a CONSUMER span whose parent is the `traceparent` its record carries (`shared.tracing`),
so the events its handler records, and the log lines it writes, continue the trace that caused it. The runner's own
lines about an event (a retry, its dead-lettering) are written inside that span too, and a poison record gets one,
parented on its `traceparent` header when that can be read.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections import Counter
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError, MessageSizeTooLargeError
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contracts import contract_for, dead_letter_topic
from shared.db import unit_of_work
from shared.errors import DomainError
from shared.failures import is_transient
from shared.messaging import inbox, quarantine
from shared.messaging.cloudevents import Envelope, MalformedEvent
from shared.messaging.handlers import Application, HandlerRegistry
from shared.messaging.kafka import SharedProducer
from shared.messaging.lag import ConsumerLag
from shared.messaging.relay import Backoff
from shared.metrics import DEAD_LETTERS, EVENT_HANDLING_SECONDS, EVENTS_CONSUMED
from shared.tracing import consuming, consuming_batch, consuming_record, mark_failed

log = logging.getLogger(__name__)
# The driver attributes that name a database error without quoting data: SQLSTATE, constraint, SQLite's error name.
_DATABASE_ATTRIBUTES = (("sqlstate", "sqlstate"), ("constraint_name", "constraint"), ("sqlite_errorname", "sqlite"))
UNKNOWN_TYPE = "unknown"  # the event type label of a record that names none we know
STALL_CAP_S = 60.0  # a partition stalled for good (say, its dead-letter topic not authorised) is retried this often
READ_ALONE_S = 5.0  # the longest a partition read on its own waits for records known to be there
LAG_REFRESH_S = 5.0  # how often the lag is refreshed from the brokers' end offsets, fetching or not


@dataclass(frozen=True)
class _Work:
    """A decoded record and the work its event asks for."""

    record: ConsumerRecord[bytes, bytes]
    envelope: Envelope
    application: Application


class _Stalled(Exception):
    """A partition's processing stopped at `offset`: the records before it are done, it and later ones are not."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"stalled at offset {offset}")
        self.offset = offset


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
        batch_size: int = 100,
    ) -> None:
        self.name, self._handlers, self._sessions = name, handlers, sessions
        self._consumer, self._dlq = consumer, dlq_producer
        self._max_attempts, self._backoff_s, self._batch_size = max_attempts, backoff_s, batch_size
        self._paused: dict[TopicPartition, float] = {}  # stalled partition -> when to read it again
        self._stall_backoffs: dict[TopicPartition, Backoff] = {}
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
        while True:
            try:
                self._resume_due()
                batches = await self._fetch()
                await self._lag.observe(batches)
                await self._consume_all(batches)
                await self._lag.observe()
                backoff.reset()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("consumer loop failed; retrying", extra={"consumer": self.name})
                await backoff.sleep()

    async def _fetch(self) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        """The records waiting, by partition. aiokafka unpacks records as it hands them over, and one it cannot read
        (compressed with a codec not installed, a header key that is not UTF-8) fails the whole call after other
        partitions' records were taken from its buffer and their positions moved on: those would be skipped. So
        every partition goes back to what is done, and is read on its own."""
        try:
            fetched: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
            fetched = await self._consumer.getmany(timeout_ms=1000, max_records=500)
            return fetched
        except Exception as exc:  # whatever failed to unpack: UnsupportedCodecError, UnicodeDecodeError, ...
            log.error("a fetch could not be read; reading partition by partition", extra=_log_facts(exc))
        batches = {tp: await self._read_alone(tp) for tp in self._consumer.assignment() - self._consumer.paused()}
        return {tp: records for tp, records in batches.items() if records}

    async def _read_alone(self, tp: TopicPartition) -> list[ConsumerRecord[bytes, bytes]]:
        """A partition's records from what is done, one at a time, up to the first that cannot be read: those before
        it are handed back to be applied first. When it is the first, it is quarantined and the partition moves on."""
        done = await self._rewind_to_committed(tp)
        records: list[ConsumerRecord[bytes, bytes]] = []
        give_up = time.monotonic() + READ_ALONE_S
        while len(records) < self._batch_size:
            try:
                read = (await self._consumer.getmany(tp, timeout_ms=200, max_records=1)).get(tp, [])
            except Exception as exc:
                if not records:
                    return await self._quarantine(tp, done, exc)
                self._consumer.seek(tp, records[-1].offset + 1)  # the next round, once these are applied, reads it
                break
            records += read
            if not read and (time.monotonic() > give_up or not await self._more_waiting(tp)):
                break
        return records

    async def _more_waiting(self, tp: TopicPartition) -> bool:
        """Whether `tp` holds records past its position that a fetch has not brought yet (a rewind drops what was
        fetched, and a busy broker may take longer than one read waits)."""
        end = self._consumer.last_stable_offset(tp) or self._consumer.highwater(tp)
        return end is None or await self._consumer.position(tp) < end

    async def _quarantine(self, tp: TopicPartition, offset: int, exc: Exception) -> list[ConsumerRecord[bytes, bytes]]:
        """Keep the unreadable records at `offset` in the quarantine and commit past them, then hand back the
        readable ones after them (`shared.messaging.quarantine`). When the raw bytes cannot be fetched or kept (the
        broker or the database away), the partition waits at `offset`, nothing skipped, and is read again soon."""
        try:
            salvaged = await quarantine.set_aside(self._consumer, self._sessions, name=self.name, tp=tp, offset=offset)
        except Exception as failure:
            exc = failure
            salvaged = None
        if salvaged is None:
            self._consumer.seek(tp, offset)
            unreadable = "partition holds a record that cannot be read nor quarantined; reading it again soon"
            self._hold(tp, self._stall_delay(tp, exc, unreadable, offset=offset))
            EVENTS_CONSUMED.labels(tp.topic, UNKNOWN_TYPE, "failed").inc()
            return []
        self._stall_backoffs.pop(tp, None)
        if salvaged.kept:
            first, last = salvaged.kept[0], salvaged.kept[-1]
            facts = {"consumer": self.name, "topic": tp.topic, "partition": tp.partition, "first_offset": first.first}
            facts |= {"last_offset": last.last, "error_type": type(first.error).__name__}
            log.error("records the client cannot unpack quarantined", extra=facts)
            await self._commit(tp, salvaged.past_kept)
        self._consumer.seek(tp, salvaged.resume_at)
        return salvaged.records

    async def _rewind_to_committed(self, tp: TopicPartition) -> int:
        """Seek `tp` back to its first record not done, and return that offset."""
        committed = await self._consumer.committed(tp)
        if committed is None:
            await self._consumer.seek_to_beginning(tp)  # a new group reads from the start (auto_offset_reset)
            position: int = await self._consumer.position(tp)
            return position
        self._consumer.seek(tp, committed)
        return int(committed)

    async def _consume_all(self, batches: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> None:
        # Partitions are independent streams: their transactions run side by side. All have finished before the
        # next fetch, so no partition is ever worked on by two tasks at once; then what is done is committed, in one
        # request for all partitions.
        partitions = list(batches)
        results = await asyncio.gather(*(self.process(batches[tp]) for tp in partitions), return_exceptions=True)
        done: dict[TopicPartition, int] = {}
        for tp, result in zip(partitions, results, strict=True):
            if isinstance(result, BaseException):
                offset = self._stall(tp, batches[tp], result)
                if offset > batches[tp][0].offset:
                    done[tp] = offset
            else:
                self._stall_backoffs.pop(tp, None)
                done[tp] = batches[tp][-1].offset + 1
        await self._commit_offsets(done)

    def _stall(self, tp: TopicPartition, records: list[ConsumerRecord[bytes, bytes]], exc: BaseException) -> int:
        """Rewind a failed partition to its first record not done and pause it: the consumer's position is already
        past the fetched records, so without the rewind they would be skipped and a later commit would cover them.
        Returns that offset (the records before it are done)."""
        offset = exc.offset if isinstance(exc, _Stalled) else records[0].offset
        cause = exc.__cause__ if isinstance(exc, _Stalled) and exc.__cause__ else exc
        delay = self._stall_delay(tp, cause, "partition stalled; reading it again soon", offset=offset)
        stalled_at = next((r for r in records if r.offset == offset), records[0])
        self._count("failed", stalled_at)
        if tp in self._consumer.assignment():  # else revoked meanwhile: the new owner reads from the committed offset
            self._consumer.seek(tp, offset)
            self._hold(tp, delay)
        return offset

    def _stall_delay(self, tp: TopicPartition, cause: BaseException, message: str, **where: int) -> float:
        """How long a stalled partition waits (growing each time it stalls again), logged with why."""
        delay = self._stall_backoffs.setdefault(tp, Backoff(self._backoff_s, STALL_CAP_S)).next_delay()
        facts = {"consumer": self.name, "topic": tp.topic, "partition": tp.partition, **where, "retry_in_s": delay}
        log.error(message, extra={**facts, **_log_facts(cause)})
        return delay

    def _hold(self, tp: TopicPartition, delay: float) -> None:
        self._consumer.pause(tp)
        self._paused[tp] = time.monotonic() + delay

    def _resume_due(self) -> None:
        now = time.monotonic()
        for tp, due in list(self._paused.items()):
            if due <= now:
                del self._paused[tp]
                if tp in self._consumer.assignment():
                    self._consumer.resume(tp)

    async def process(self, records: list[ConsumerRecord[bytes, bytes]]) -> list[str]:
        """Apply one partition's records in offset order; returns each one's outcome, in the order finished
        (applied, duplicate, ignored, dead_lettered). Raises `_Stalled` at the first record not done when one can
        be neither applied nor dead-lettered."""
        outcomes: list[str] = []
        pending: list[_Work] = []
        for record in records:
            decoded = self._decode(record)
            if isinstance(decoded, _Work):
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

    def _decode(self, record: ConsumerRecord[bytes, bytes]) -> _Work | Exception | None:
        """The record's work, the reason it is poison, or None when no handler wants it."""
        try:
            envelope = Envelope.from_record(record.headers, record.value)
            application = self._handlers.bind(record.topic, envelope)
        except (MalformedEvent, ValidationError) as exc:
            return exc
        return None if application is None else _Work(record, envelope, application)

    async def _flush(self, pending: list[_Work]) -> list[str]:
        """Apply and empty the pending work."""
        batch = pending.copy()
        pending.clear()
        if not batch:
            return []
        try:
            return await self._apply_batch(batch)
        except Exception as exc:
            raise _Stalled(batch[0].record.offset) from exc

    async def _poison(self, record: ConsumerRecord[bytes, bytes], exc: Exception) -> str:
        with consuming_record(record, consumer=self.name) as span:
            mark_failed(span, exc)
            try:
                return await self._dead_letter(record, exc, attempts=1)
            except Exception as failure:
                raise _Stalled(record.offset) from failure

    async def _apply_batch(self, batch: list[_Work]) -> list[str]:
        if len(batch) == 1:
            return [await self._apply(batch[0])]
        backoff = Backoff(self._backoff_s)
        while True:
            claimed: list[bool] = []
            # The batch's span (linked to each event's trace) holds the attempt and the lines about its failure.
            with consuming_batch(batch[0].record.topic, [work.envelope for work in batch], consumer=self.name) as span:
                try:
                    await self._transact(batch, claimed)
                    return self._count_batch(batch, ["applied" if fresh else "duplicate" for fresh in claimed])
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    mark_failed(span, exc)
                    transient = is_transient(exc)
                    facts = {"consumer": self.name, **_batch_facts(batch), **_log_facts(exc)}
                    if transient:
                        log.warning("event batch failed; retrying", extra=facts)
                    else:
                        log.info("event batch failed; applying it one event per transaction", extra=facts)
            if not transient:
                return await self._apply_one_by_one(batch, failing=len(claimed))
            for work in batch:
                self._count("retried", work.record)
            await backoff.sleep()

    async def _apply_one_by_one(self, batch: list[_Work], *, failing: int) -> list[str]:
        """Replay a failed batch one record per transaction; the record that failed (none if the commit did)
        has spent one of its attempts already."""
        if failing < len(batch):
            self._count("retried", batch[failing].record)
        return [await self._apply(work, spent=int(n == failing)) for n, work in enumerate(batch)]

    async def _apply(self, work: _Work, *, spent: int = 0) -> str:
        attempts = spent
        backoff = Backoff(self._backoff_s)
        while True:
            claimed: list[bool] = []
            # Each attempt in the event's CONSUMER span, which also holds the lines about its failure and the
            # dead-lettering: they carry the event's trace.
            with consuming(work.record, work.envelope, consumer=self.name) as span:
                try:
                    await self._transact([work], claimed)
                    return self._count("applied" if claimed[0] else "duplicate", work.record)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    mark_failed(span, exc)
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
                            **_log_facts(exc),
                        },
                    )
            self._count("retried", work.record)
            await backoff.sleep()

    async def _transact(self, batch: list[_Work], claimed: list[bool]) -> None:
        started = time.perf_counter()
        async with unit_of_work(self._sessions) as session:  # in the span `_apply` or `_apply_batch` opened
            await self._claim_and_apply(session, batch, claimed)
        # Each event's handling time is its share of the transaction that applied it.
        share = (time.perf_counter() - started) / len(batch)
        handling = EVENT_HANDLING_SECONDS.labels(batch[0].record.topic)  # a batch is one partition's
        for _ in batch:
            handling.observe(share)

    async def _claim_and_apply(self, session: AsyncSession, batch: list[_Work], claimed: list[bool]) -> None:
        """Claim the batch's events in the inbox, then apply the fresh ones in order; `claimed` grows as
        they are done, so on a failure its length is the index of the record that failed."""
        fresh = await inbox.claim(session, consumer=self.name, events=[(w.envelope.id, w.envelope.type) for w in batch])
        await self._handlers.prepare_all(session, [w.application for w in batch if w.envelope.id in fresh])
        for work in batch:
            is_fresh = work.envelope.id in fresh
            if is_fresh:
                fresh.discard(work.envelope.id)  # the same event twice in a batch is applied once
                with self._event_span(work, batch):
                    await work.application(session)
            claimed.append(is_fresh)

    def _event_span(self, work: _Work, batch: list[_Work]) -> AbstractContextManager[object]:
        """Tracing: one event's transaction runs in its CONSUMER span (`_apply`), in the trace the record carries; a
        batch's in a span linked to each event's trace (`_apply_batch`), each event's handling then in its own."""
        return nullcontext() if len(batch) == 1 else consuming(work.record, work.envelope, consumer=self.name)

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], exc: BaseException, *, attempts: int) -> str:
        await self._send_dead_letter(record, [*record.headers, *_error_headers(self.name, record, exc, attempts)])
        event_id = _header(record, "ce_id")
        log.error(
            "event dead-lettered",
            extra={
                "consumer": self.name,
                **({"event_id": event_id} if event_id else {}),
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                **_log_facts(exc),
            },
        )
        DEAD_LETTERS.labels(record.topic).inc()
        return self._count("dead_lettered", record)

    async def _send_dead_letter(self, record: ConsumerRecord[bytes, bytes], headers: list[tuple[str, bytes]]) -> None:
        """Publish to the dead-letter topic. Retriable Kafka errors (a leader moving, the broker briefly away) are
        retried here. A record too large to dead-letter, or a tombstone (no key, no value, which Kafka refuses),
        goes without its value, a `dlq_value` header saying why. Any other failure (the topic not authorised, a
        producer that failed for good) raises: the partition stalls on this record, never skipping it, and is
        retried with a growing delay until the operator fixes the cause."""
        value = record.value
        if value is None and record.key is None:
            value, headers = b"", [*headers, ("dlq_value", b"absent")]
        backoff = Backoff()
        while True:
            try:
                await self._dlq.send_and_wait(dead_letter_topic(record.topic), value, key=record.key, headers=headers)
                return
            except MessageSizeTooLargeError:
                if not value:
                    raise
                value, headers = b"", [*headers, ("dlq_value", b"dropped: too large")]
            except KafkaError as err:
                if not err.retriable:
                    raise
                log.warning("dead-letter publish failed; retrying", extra={"consumer": self.name, **_log_facts(err)})
                await backoff.sleep()

    async def _commit(self, tp: TopicPartition, offset: int) -> None:
        await self._commit_offsets({tp: offset})

    async def _commit_offsets(self, offsets: dict[TopicPartition, int]) -> None:
        assigned = self._consumer.assignment()
        # A partition revoked while we worked is left out: the new owner re-reads, the inbox absorbs the repeat.
        offsets = {tp: offset for tp, offset in offsets.items() if tp in assigned}
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError):
            log.warning("offset commit refused after a rebalance", extra={"consumer": self.name}, exc_info=True)
        except KafkaError:
            # The records are applied; a later commit covers them, and a re-read is absorbed by the inbox.
            log.warning("offset commit failed", extra={"consumer": self.name}, exc_info=True)

    def _count(self, outcome: str, record: ConsumerRecord[bytes, bytes]) -> str:
        EVENTS_CONSUMED.labels(record.topic, _event_type(record), outcome).inc()
        return outcome

    def _count_batch(self, batch: list[_Work], outcomes: list[str]) -> list[str]:
        """Count a batch's outcomes, one increment per event type and outcome."""
        topic = batch[0].record.topic
        counts = Counter(zip((_known_type(work.envelope.type) for work in batch), outcomes, strict=True))
        for (event_type, outcome), count in counts.items():
            EVENTS_CONSUMED.labels(topic, event_type, outcome).inc(count)
        return outcomes


def _header(record: ConsumerRecord[bytes, bytes], key: str) -> str | None:
    """A header's value as text (cut to 200 characters), None when absent or not UTF-8."""
    value = dict(record.headers).get(key)
    try:
        return value.decode()[:200] if isinstance(value, bytes) else None
    except UnicodeDecodeError:
        return None


def _batch_facts(batch: list[_Work]) -> dict[str, object]:
    first, last = batch[0].record, batch[-1].record
    return {
        "topic": first.topic,
        "partition": first.partition,
        "offset": first.offset,
        "last_offset": last.offset,
        "events": len(batch),
    }


def _event_type(record: ConsumerRecord[bytes, bytes]) -> str:
    """The record's event type as a metric label: a known type, or `unknown` (a poison record's header could name
    anything, and every distinct label value is a new time series)."""
    named = dict(record.headers).get("ce_type")
    try:
        event_type = named.decode() if isinstance(named, bytes) else ""
    except UnicodeDecodeError:
        return UNKNOWN_TYPE
    return _known_type(event_type)


def _known_type(event_type: str) -> str:
    return event_type if contract_for(event_type) is not None else UNKNOWN_TYPE


def _error_headers(
    consumer: str, record: ConsumerRecord[bytes, bytes], exc: BaseException, attempts: int
) -> list[tuple[str, bytes]]:
    return [
        ("dlq_consumer", consumer.encode()),
        *((f"dlq_error_{name}", value[:500].encode()) for name, value in _error_facts(exc).items()),
        ("dlq_attempts", str(attempts).encode()),
        ("dlq_source_topic", record.topic.encode()),
        ("dlq_source_partition", str(record.partition).encode()),
        ("dlq_source_offset", str(record.offset).encode()),
    ]


def _log_facts(exc: BaseException) -> dict[str, str]:
    return {f"error_{name}": value for name, value in _error_facts(exc).items()}


def _error_facts(exc: BaseException) -> dict[str, str]:
    """What may be told about a failure: its type and where it was raised, and a message only when we wrote it
    and know it free of personal data. A database's message quotes the failing row (asyncpg's `DETAIL: Failing
    row contains (...)`, key values), and other libraries' messages may quote their input, so they are left out."""
    facts = {"type": type(exc).__name__, "where": _where(exc)}
    if isinstance(exc, ValidationError):  # field and message only: pydantic's own text echoes the input
        facts["message"] = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    elif isinstance(exc, MalformedEvent | DomainError):  # DomainError's detail is kept free of personal data
        facts["message"] = str(exc)
    elif isinstance(exc, DBAPIError):
        facts.update(_database_facts(exc))
    return facts


def _database_facts(exc: DBAPIError) -> dict[str, str]:
    facts: dict[str, str] = {}
    # SQLAlchemy's asyncpg adapter wraps the driver's error, which then is the adapter error's cause.
    for error in (exc.orig, getattr(exc.orig, "__cause__", None)):
        for attribute, name in _DATABASE_ATTRIBUTES:
            value = getattr(error, attribute, None)
            if isinstance(value, str):
                facts.setdefault(name, value)
    return facts


def _where(exc: BaseException) -> str:
    """The innermost frames as file:line, without the locals or message that could carry data."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    return " > ".join(f"{Path(frame.filename).name}:{frame.lineno}" for frame in frames)

"""The consumer never skips a fetched event, dead-letters every malformed record, and tells no personal data."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import (
    KafkaError,
    MessageSizeTooLargeError,
    NotLeaderForPartitionError,
    TopicAuthorizationFailedError,
)
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.contracts import HOUSEHOLDS_TOPIC
from shared.db import create_engine, session_factory
from shared.logs import JsonFormatter
from shared.messaging.cloudevents import Envelope
from shared.messaging.consumer import ConsumerRunner
from shared.messaging.handlers import HandlerRegistry
from tests.tracing_support import captured_spans, hex_ids, of_kind

TP = TopicPartition(HOUSEHOLDS_TOPIC, 0)
NAME, PHONE = "张三", "13800138000"


def record(
    offset: int, *, partition: int = 0, extra_headers: list[tuple[str, bytes | None]] | None = None
) -> ConsumerRecord[bytes, bytes]:
    env = Envelope(
        id=f"ev-{partition}-{offset}", type="x.y", source="/t", subject="k", time=datetime.now(UTC), data=b"{}"
    )
    headers = [*env.to_headers(), *(extra_headers or [])]
    return ConsumerRecord(HOUSEHOLDS_TOPIC, partition, offset, 0, 0, b"k", b"{}", None, 0, 0, headers)


def tombstone(offset: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(HOUSEHOLDS_TOPIC, 0, offset, 0, 0, None, None, None, 0, 0, [])


class FakeConsumer:
    """Like aiokafka: a fetch hands over what lies past each partition's position and moves the position on."""

    def __init__(self, logs: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> None:
        self.logs, self.positions = logs, {tp: 0 for tp in logs}
        self.committed: dict[TopicPartition, int] = {}
        self.paused: set[TopicPartition] = set()

    async def getmany(
        self, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        batches = {}
        for tp, log in self.logs.items():
            if tp not in self.paused and log[self.positions[tp] :]:
                batches[tp], self.positions[tp] = log[self.positions[tp] :], len(log)
        if not batches:
            await asyncio.sleep(0.005)
        return batches

    def assignment(self) -> set[TopicPartition]:
        return set(self.logs)

    def highwater(self, tp: TopicPartition) -> int:
        return len(self.logs[tp])

    async def position(self, tp: TopicPartition) -> int:
        return self.positions[tp]

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.committed.update(offsets)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.positions[tp] = offset

    def pause(self, tp: TopicPartition) -> None:
        self.paused.add(tp)

    def resume(self, tp: TopicPartition) -> None:
        self.paused.discard(tp)


class FakeDeadLetters:
    """A dead-letter producer that fails as told, then keeps what it is sent."""

    def __init__(self, *failures: BaseException) -> None:
        self.failures, self.sent = list(failures), list[tuple[bytes | None, dict[str, bytes | None]]]()

    async def send_and_wait(
        self, topic: str, value: bytes | None, *, key: bytes | None, headers: list[tuple[str, bytes | None]]
    ) -> None:
        assert not (value is None and key is None), "Need at least one: key or value"  # as aiokafka
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((value, dict(headers)))


class Harness:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine, self.applied = engine, list[str]()
        self.handlers = HandlerRegistry()

        @self.handlers.observe(HOUSEHOLDS_TOPIC)
        async def observe(session: AsyncSession, env: Envelope, topic: str) -> None:
            self.applied.append(env.id)

    def runner(self, consumer: object = None, dlq: object = None, **options: int) -> ConsumerRunner:
        return ConsumerRunner(
            name="t", handlers=self.handlers, sessions=session_factory(self.engine), consumer=consumer,
            dlq_producer=dlq, backoff_s=0.001, **options,
        )  # fmt: skip

    async def run_until(self, runner: ConsumerRunner, done: Callable[[], bool], timeout: float = 5.0) -> None:
        task = asyncio.create_task(runner.run())
        try:
            for _ in range(int(timeout / 0.01)):
                if done():
                    return
                await asyncio.sleep(0.01)
            raise AssertionError("the consumer did not get there in time")
        finally:
            task.cancel()
            stopped, _ = await asyncio.wait({task}, timeout=5)
            assert stopped, f"the consumer did not stop when cancelled: {task.get_stack()}"


def told_in_logs(caplog: pytest.LogCaptureFixture) -> str:
    """Everything the messaging layer logged, messages and extra fields alike (the JSON log prints them all)."""
    return repr([r.__dict__ for r in caplog.records if r.name.startswith("shared.messaging")])


@pytest.fixture
async def harness(sqlite_url: Callable[[str], Awaitable[str]]) -> AsyncIterator[Harness]:
    engine = create_engine(await sqlite_url("audit"))
    yield Harness(engine)
    await engine.dispose()


async def test_headers_without_value_count_as_absent_and_nothing_is_skipped(harness: Harness) -> None:
    no_trace = record(1, extra_headers=[("traceparent", None)])  # optional: the event is applied without a trace
    no_id = record(2)
    no_id.headers[:] = [(k, None if k == "ce_id" else v) for k, v in no_id.headers]  # required: poison
    consumer, dlq = FakeConsumer({TP: [record(0), no_trace, no_id, record(3)]}), FakeDeadLetters()
    await harness.run_until(harness.runner(consumer, dlq), lambda: consumer.committed.get(TP) == 4)
    assert harness.applied == ["ev-0-0", "ev-0-1", "ev-0-3"]
    assert [headers["dlq_source_offset"] for _, headers in dlq.sent] == [b"2"]


async def test_a_tombstone_is_dead_lettered_without_value(harness: Harness) -> None:
    consumer, dlq = FakeConsumer({TP: [record(0), tombstone(1), record(2)]}), FakeDeadLetters()
    await harness.run_until(harness.runner(consumer, dlq), lambda: consumer.committed.get(TP) == 3)
    assert harness.applied == ["ev-0-0", "ev-0-2"]
    [(value, headers)] = dlq.sent
    assert value == b"" and headers["dlq_value"] == b"absent" and headers["dlq_error_type"] == b"MalformedEvent"


async def test_a_partition_that_fails_is_rewound_not_skipped_while_others_go_on(harness: Harness) -> None:
    other = TopicPartition(HOUSEHOLDS_TOPIC, 1)
    logs = {TP: [record(0), tombstone(1), record(2)], other: [record(n, partition=1) for n in range(3)]}
    consumer = FakeConsumer(logs)
    # The dead-letter topic is refused for good until an operator fixes its ACL.
    dlq = FakeDeadLetters(TopicAuthorizationFailedError(), TopicAuthorizationFailedError())
    runner = harness.runner(consumer, dlq)
    commits: list[int] = []
    commit = consumer.commit

    async def watched(offsets: dict[TopicPartition, int]) -> None:
        commits.extend(offset for tp, offset in offsets.items() if tp == TP)
        await commit(offsets)

    consumer.commit = watched  # type: ignore[method-assign]
    await harness.run_until(runner, lambda: consumer.committed.get(TP) == 3)
    assert consumer.committed[other] == 3
    assert commits[0] == 1  # what was done before the stuck record, never past it
    assert all(c <= 1 for c in commits[:-1])
    assert harness.applied.count("ev-0-2") == 1 and "ev-0-0" in harness.applied
    assert len(dlq.sent) == 1


async def test_a_retriable_dead_letter_failure_is_retried_in_place(harness: Harness) -> None:
    dlq = FakeDeadLetters(NotLeaderForPartitionError())
    assert await harness.runner(dlq=dlq).process([tombstone(0)]) == ["dead_lettered"]
    assert len(dlq.sent) == 1


async def test_a_record_too_large_to_dead_letter_goes_without_its_value(harness: Harness) -> None:
    dlq = FakeDeadLetters(MessageSizeTooLargeError())
    broken = record(0, extra_headers=[("ce_time", b"not a time")])
    assert await harness.runner(dlq=dlq).process([broken]) == ["dead_lettered"]
    [(value, headers)] = dlq.sent
    assert value == b"" and headers["dlq_value"] == b"dropped: too large"


async def test_a_non_retriable_dead_letter_failure_is_not_retried_in_place(harness: Harness) -> None:
    dlq = FakeDeadLetters(KafkaError(), KafkaError())
    with pytest.raises(Exception) as raised:
        await harness.runner(dlq=dlq).process([record(0), tombstone(1)])
    assert getattr(raised.value, "offset", None) == 1 and len(dlq.failures) == 1


async def test_a_database_error_is_dead_lettered_without_the_row_it_quotes(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    async with harness.engine.begin() as conn:
        await conn.execute(
            text("CREATE TABLE member (id INTEGER PRIMARY KEY, name TEXT, phone TEXT, area TEXT NOT NULL)")
        )
    handlers = HandlerRegistry()

    @handlers.observe(HOUSEHOLDS_TOPIC)
    async def buggy(session: AsyncSession, env: Envelope, topic: str) -> None:
        # A handler bug: a NOT NULL column left empty, beside a citizen's name and phone.
        statement = text("INSERT INTO member (name, phone, area) VALUES (:name, :phone, NULL)")
        await session.execute(statement, {"name": NAME, "phone": PHONE})

    harness.handlers, dlq = handlers, FakeDeadLetters()
    with caplog.at_level(logging.DEBUG, logger="shared.messaging"):
        assert await harness.runner(dlq=dlq, max_attempts=2).process([record(0)]) == ["dead_lettered"]
    [(_, headers)] = dlq.sent
    assert headers["dlq_error_type"] == b"IntegrityError"
    assert headers["dlq_error_sqlite"] == b"SQLITE_CONSTRAINT_NOTNULL"
    told = repr(headers) + told_in_logs(caplog)
    assert NAME not in told and PHONE not in told


async def test_an_unknown_error_message_is_not_told(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    handlers = HandlerRegistry()

    @handlers.observe(HOUSEHOLDS_TOPIC)
    async def buggy(session: AsyncSession, env: Envelope, topic: str) -> None:
        raise ValueError(f"bad phone {PHONE}")

    harness.handlers, dlq = handlers, FakeDeadLetters()
    with caplog.at_level(logging.DEBUG, logger="shared.messaging"):
        await harness.runner(dlq=dlq, max_attempts=1).process([record(0)])
    [(_, headers)] = dlq.sent
    assert headers["dlq_error_type"] == b"ValueError" and "dlq_error_message" not in headers
    assert PHONE not in repr(headers) + told_in_logs(caplog)


class HeldDeadLetters(FakeDeadLetters):
    """A dead-letter producer whose sends wait until released (a partition's task kept busy, holding no transaction)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def send_and_wait(
        self, topic: str, value: bytes | None, *, key: bytes | None, headers: list[tuple[str, bytes | None]]
    ) -> None:
        await self.release.wait()
        await super().send_and_wait(topic, value, key=key, headers=headers)


async def test_a_busy_partition_waits_for_its_task_while_the_others_are_fetched_and_applied(harness: Harness) -> None:
    other = TopicPartition(HOUSEHOLDS_TOPIC, 1)
    consumer = FakeConsumer({TP: [tombstone(0), record(1)], other: [record(0, partition=1)]})
    dlq = HeldDeadLetters()
    runner = harness.runner(consumer, dlq)
    working: dict[int, int] = {}  # partition -> its records' tasks running now
    most = 0
    process = runner.process

    async def counted(records: list[ConsumerRecord[bytes, bytes]]) -> list[str]:
        nonlocal most
        partition = records[0].partition
        working[partition] = working.get(partition, 0) + 1
        most = max(most, working[partition])
        try:
            return await process(records)
        finally:
            working[partition] -= 1

    runner.process = counted  # type: ignore[method-assign]
    task = asyncio.create_task(runner.run())
    try:
        await until(lambda: consumer.committed.get(other) == 1)
        # Records arrive on both partitions while partition 0's task still waits on its dead letter.
        consumer.logs[TP] += [record(2), record(3)]
        consumer.logs[other] += [record(1, partition=1), record(2, partition=1)]
        await until(lambda: consumer.committed.get(other) == 3)
        assert TP not in consumer.committed  # nothing of a partition is committed before its records are applied
        assert not any(applied.startswith("ev-0-") for applied in harness.applied)
        dlq.release.set()
        await until(lambda: consumer.committed.get(TP) == 4)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert [applied for applied in harness.applied if applied.startswith("ev-0-")] == ["ev-0-1", "ev-0-2", "ev-0-3"]
    assert most == 1 and len(dlq.sent) == 1


async def test_a_partition_assigned_again_while_its_task_runs_is_not_worked_on_twice(harness: Harness) -> None:
    consumer, dlq = FakeConsumer({TP: [tombstone(0), record(1)]}), HeldDeadLetters()
    runner = harness.runner(consumer, dlq)
    running, most = 0, 0
    process = runner.process

    async def counted(records: list[ConsumerRecord[bytes, bytes]]) -> list[str]:
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            return await process(records)
        finally:
            running -= 1

    runner.process = counted  # type: ignore[method-assign]
    fetched = 0
    getmany = consumer.getmany

    async def counted_fetches(
        timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        nonlocal fetched
        batches = await getmany(timeout_ms, max_records)
        fetched += bool(batches)
        return batches

    consumer.getmany = counted_fetches  # type: ignore[method-assign]
    task = asyncio.create_task(runner.run())
    try:
        await until(lambda: fetched == 1)
        # A rebalance gives the partition back while its task waits: resumed, read again from what is committed.
        consumer.paused.discard(TP)
        consumer.positions[TP] = 0
        await until(lambda: fetched == 2)
        await asyncio.sleep(0.05)
        assert running == 1
        dlq.release.set()
        await until(lambda: consumer.committed.get(TP) == 2 and fetched >= 3)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert most == 1 and harness.applied == ["ev-0-1"]


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the consumer did not get there in time")


# ---------------------------------------------------------------------------------------------------------------------
# The runner's lines about an event carry the event's trace


TRACE_ID, PARENT_SPAN = "5eed0000000000000000000000000021", "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_SPAN}-01".encode()


@contextlib.contextmanager
def json_lines() -> Iterator[list[dict[str, Any]]]:
    """The consumer's log lines as the service writes them (JSON, the current trace's ids added as written)."""
    lines: list[dict[str, Any]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(self.format(record)))

    handler = Collect(logging.DEBUG)
    handler.setFormatter(JsonFormatter("tests"))
    logger = logging.getLogger("shared.messaging")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def traced(offset: int, **changes: bytes) -> ConsumerRecord[bytes, bytes]:
    """A record carrying TRACEPARENT, its headers changed as told."""
    rec = record(offset, extra_headers=[("traceparent", TRACEPARENT)])
    rec.headers[:] = [(k, changes.get(k, v)) for k, v in rec.headers]
    return rec


async def test_retry_and_dead_letter_lines_carry_the_event_s_trace(harness: Harness) -> None:
    handlers = HandlerRegistry()

    @handlers.observe(HOUSEHOLDS_TOPIC)
    async def failing(session: AsyncSession, env: Envelope, topic: str) -> None:
        raise LookupError("reference data missing")

    harness.handlers, dlq = handlers, FakeDeadLetters()
    with json_lines() as lines, captured_spans() as spans:
        assert await harness.runner(dlq=dlq, max_attempts=3).process([traced(7)]) == ["dead_lettered"]
    about = [line for line in lines if line["msg"] in ("event handling failed; retrying", "event dead-lettered")]
    assert [line["msg"] for line in about] == ["event handling failed; retrying"] * 2 + ["event dead-lettered"]
    assert all(line.get("trace_id") == TRACE_ID for line in about), about
    consumed = of_kind(spans.get_finished_spans(), SpanKind.CONSUMER, "process")
    assert {line["span_id"] for line in about} <= {hex_ids(span)[1] for span in consumed}
    dead = about[-1]
    assert (dead["event_id"], dead["topic"], dead["partition"], dead["offset"]) == ("ev-0-7", HOUSEHOLDS_TOPIC, 0, 7)


async def test_a_transient_batch_failure_is_logged_in_the_batch_s_span(harness: Harness) -> None:
    handlers, failures = HandlerRegistry(), [OSError("database away")]

    @handlers.observe(HOUSEHOLDS_TOPIC)
    async def flaky(session: AsyncSession, env: Envelope, topic: str) -> None:
        if failures:
            raise failures.pop()

    harness.handlers = handlers
    with json_lines() as lines, captured_spans() as spans:
        assert await harness.runner(dlq=FakeDeadLetters()).process([traced(0), traced(1)]) == ["applied"] * 2
    [retry] = [line for line in lines if line["msg"] == "event batch failed; retrying"]
    [batch, *_] = [s for s in spans.get_finished_spans() if s.name.startswith("apply")]
    assert (retry["trace_id"], retry["span_id"]) == hex_ids(batch)
    assert {link.context.trace_id for link in batch.links} == {int(TRACE_ID, 16)}
    assert (retry["offset"], retry["last_offset"], retry["events"]) == (0, 1, 2)


async def test_a_poison_record_is_dead_lettered_in_a_consumer_span_of_its_trace(harness: Harness) -> None:
    poison = traced(3, ce_specversion=b"0.3")  # no CloudEvent we read, yet its id and trace can be read
    dlq = FakeDeadLetters()
    with json_lines() as lines, captured_spans() as spans:
        assert await harness.runner(dlq=dlq).process([poison]) == ["dead_lettered"]
    [span] = of_kind(spans.get_finished_spans(), SpanKind.CONSUMER, "process")
    assert hex_ids(span)[0] == TRACE_ID and span.parent is not None and f"{span.parent.span_id:016x}" == PARENT_SPAN
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["cloudevents.event_id"] == "ev-0-3"
    [dead] = [line for line in lines if line["msg"] == "event dead-lettered"]
    assert (dead["trace_id"], dead["span_id"]) == hex_ids(span)
    assert (dead["event_id"], dead["offset"]) == ("ev-0-3", 3)


async def test_a_poison_record_with_an_unreadable_traceparent_starts_a_trace(harness: Harness) -> None:
    poison = traced(0, ce_specversion=b"0.3", traceparent=b"\xff\xfe", ce_id=b"\xff")
    with json_lines() as lines:
        assert await harness.runner(dlq=FakeDeadLetters()).process([poison]) == ["dead_lettered"]
    [dead] = [line for line in lines if line["msg"] == "event dead-lettered"]
    assert "event_id" not in dead and dead.get("trace_id") != TRACE_ID and dead["offset"] == 0

"""The relay's passes: batches read ahead and sent while earlier ones are in flight, marks in bulk off the send path.

Per key, no row is published before an earlier one, whatever fails in the middle; only what Kafka acknowledged is
marked; at most two batches of rows are sent and not yet marked; a row committed behind the reading cursor is found.
"""

from __future__ import annotations

import asyncio
import gc
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiokafka.errors import KafkaError, MessageSizeTooLargeError, NotLeaderForPartitionError
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.contracts.households import HouseholdRegistered
from shared.db import create_engine
from shared.messaging import publication
from shared.messaging.backlog import ReadAhead
from shared.messaging.kafka import MAX_REQUEST_SIZE, SharedProducer
from shared.messaging.outbox import OUTBOX, OutboxSignal
from shared.messaging.publication import Sending
from shared.messaging.relay import LeadershipLost, OutboxRelay
from shared.timeutil import utcnow
from tests.producer_fakes import FakeBatch, FakeProducer
from tests.support import in_background

KEYS = [uuid.UUID(int=k + 1) for k in range(12)]


@pytest.fixture
async def engine(sqlite_url: Callable[[str], Awaitable[str]]) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(await sqlite_url("households"))
    yield engine
    await engine.dispose()


def outbox_row(n: int, *, payload: str | None = None) -> dict[str, Any]:
    """The n-th event (from 0) of a backlog spread over KEYS in turn; its household code says n."""
    key = KEYS[n % len(KEYS)]
    event = HouseholdRegistered(household_id=key, household_code=f"T-{n}", area_code="371523101201", member_count=1)
    return {
        "id": n + 1,
        "event_id": str(uuid.uuid4()),
        "topic": event.topic,
        "key": str(key),
        "event_type": event.event_type,
        "source": "/tests",
        "occurred_at": utcnow(),
        "payload": payload or event.model_dump_json(),
    }


async def write(engine: AsyncEngine, rows: list[dict[str, Any]]) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(OUTBOX), rows)


async def marked(engine: AsyncEngine) -> set[int]:
    """The event numbers of the rows marked published."""
    async with engine.connect() as conn:
        payloads = await conn.scalars(select(OUTBOX.c.payload).where(OUTBOX.c.published_at.is_not(None)))
        return {number(p.encode()) for p in payloads}


async def unpublished(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).where(OUTBOX.c.published_at.is_(None))) or 0)


def number(value: bytes) -> int:
    return int(json.loads(value)["household_code"].removeprefix("T-"))


def first_publications(values: list[bytes]) -> dict[str, list[int]]:
    """Per key, the event numbers in the order each was first published."""
    seen: set[int] = set()
    order: dict[str, list[int]] = {}
    for value in values:
        event = json.loads(value)
        if (n := number(value)) not in seen:
            seen.add(n)
            order.setdefault(event["household_id"], []).append(n)
    return order


def relay(engine: AsyncEngine, producers: SharedProducer, batch_size: int) -> OutboxRelay:
    return OutboxRelay(
        engine=engine, producer=producers, signal=OutboxSignal(), batch_size=batch_size, poll_interval_s=0.1
    )


def failing_once(number_failing: int) -> Callable[[bytes], KafkaError | None]:
    """Fails the batch holding that event, the first time only (a partition without a leader for a while)."""
    pending = [number_failing]

    def fails(value: bytes) -> KafkaError | None:
        if number(value) in pending:
            pending.clear()
            return NotLeaderForPartitionError()
        return None

    return fails


async def test_a_batch_failing_mid_backlog_lets_no_later_row_of_its_key_out_first(engine: AsyncEngine) -> None:
    events = 600
    await write(engine, [outbox_row(n) for n in range(events)])
    # Answers take a while: batches queue behind the one that fails before its failure is known.
    made = [FakeProducer(failing_once(250), capacity=4, answer_after_s=0.01), FakeProducer(capacity=4)]
    producers = SharedProducer(iter(made).__next__)
    publisher = relay(engine, producers, batch_size=40)
    with pytest.raises(NotLeaderForPartitionError):
        await publisher.publish_pending()
    acknowledged = {number(v) for v in made[0].sent}
    assert 250 not in acknowledged and any(n > 250 for n in acknowledged)  # failed mid-way, with batches after it
    assert await marked(engine) == acknowledged  # what Kafka acknowledged is marked, nothing else
    failures = []
    for _ in range(3):  # the idempotent producer fails behind its gap until it is replaced
        try:
            await publisher.publish_pending()
            break
        except KafkaError as exc:
            failures.append(type(exc).__name__)
    assert failures == ["OutOfOrderSequenceNumber"] and producers.current is made[1]
    assert await unpublished(engine) == 0
    published = made[0].sent + made[1].sent
    assert {number(v) for v in published} == set(range(events))
    for order in first_publications(published).values():
        assert order == sorted(order)


async def test_no_more_than_two_batches_of_rows_are_in_flight_unmarked(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await write(engine, [outbox_row(n) for n in range(400)])
    producer = WindowWatch(capacity=5)
    publisher = relay(engine, SharedProducer(lambda: producer), batch_size=50)
    mark = publisher._mark_published

    async def slow_mark(ids: list[int]) -> None:  # a slow database: acknowledgements pile up, unmarked
        await asyncio.sleep(0.02)
        await mark(ids)
        producer.marked += len(ids)

    monkeypatch.setattr(publisher, "_mark_published", slow_mark)
    assert await publisher.publish_pending() == 400
    assert 50 < producer.most_unmarked <= 2 * 50  # the window: one batch being marked while the next is sent


class WindowWatch(FakeProducer):
    """Notes the most rows it was given that were not yet marked published."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.marked = self.most_unmarked = 0

    async def send_batch(self, batch: FakeBatch, topic: str, *, partition: int) -> asyncio.Future[Any]:
        future = await super().send_batch(batch, topic, partition=partition)
        self.most_unmarked = max(self.most_unmarked, len(self.sent) - self.marked)
        return future


async def test_a_pass_begins_while_the_one_before_is_marked_and_sends_none_of_its_rows_again(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Marking is the slower half of a pass: the next pass reads and sends meanwhile, leaving out what is being
    marked. Here rows are committed ten at a time (a pass each) while each marking takes 50 ms."""
    producer = FakeProducer(capacity=10)
    signal = OutboxSignal()
    publisher = OutboxRelay(
        engine=engine, producer=SharedProducer(lambda: producer), signal=signal, batch_size=20, poll_interval_s=0.1
    )
    marking = passes_begun_while_marking = 0
    mark, read = publisher._mark_published, ReadAhead._read

    async def slow_mark(ids: list[int]) -> None:
        nonlocal marking
        marking += 1
        await asyncio.sleep(0.05)
        await mark(ids)
        marking -= 1

    async def first_read_noted(ahead: ReadAhead, after: int | None) -> list[Any]:
        nonlocal passes_begun_while_marking
        passes_begun_while_marking += after is None and marking > 0
        return await read(ahead, after)

    monkeypatch.setattr(publisher, "_mark_published", slow_mark)
    monkeypatch.setattr(ReadAhead, "_read", first_read_noted)
    async with in_background(publisher.run()):
        for run in range(10):
            await write(engine, [outbox_row(n) for n in range(10 * run, 10 * run + 10)])
            signal.set()  # as a commit beside the relay does
            await asyncio.sleep(0.02)
        await until_published(engine)
    assert sorted(number(v) for v in producer.sent) == list(range(100))  # each once
    assert await marked(engine) == set(range(100))
    assert passes_begun_while_marking > 0


async def test_a_pass_keeps_no_pass_before_it_alive(engine: AsyncEngine) -> None:
    """Each pass holds the one behind it until that one is marked, and no longer: a chain of them grew by a pass each
    time the relay woke."""
    producer = FakeProducer(capacity=10)
    signal = OutboxSignal()
    publisher = OutboxRelay(
        engine=engine, producer=SharedProducer(lambda: producer), signal=signal, batch_size=20, poll_interval_s=0.1
    )
    async with in_background(publisher.run()):
        for n in range(60):
            await write(engine, [outbox_row(n)])
            signal.set()
            await asyncio.sleep(0.005)
        await until_published(engine)
        gc.collect()
        assert sum(isinstance(o, Sending) for o in gc.get_objects()) <= 2  # the last pass, and one being made


async def test_the_pass_behind_failing_to_mark_stops_the_next_one_within_a_turn(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its rows stay unmarked, to be published again: the next pass stops too, within the window, as one whose own
    marking failed."""
    await write(engine, [outbox_row(n) for n in range(2000)])
    producer = FakeProducer(capacity=5)
    publisher = relay(engine, SharedProducer(lambda: producer), batch_size=20)
    mark = publisher._mark_published
    sent_when_it_failed: list[int] = []

    async def failing_mark(ids: list[int]) -> None:
        await asyncio.sleep(0.01)
        if 1000 in ids and not sent_when_it_failed:  # the last row of a pass: the next one is sending
            sent_when_it_failed.append(len(producer.sent))
            raise OperationalError("UPDATE outbox", {}, Exception("the database restarts"))
        await mark(ids)

    monkeypatch.setattr(publisher, "_mark_published", failing_mark)
    with pytest.raises(OperationalError):
        await publisher.publish_pending()
    assert len(producer.sent) - sent_when_it_failed[0] <= 2 * publication.YIELD_EVERY
    while await unpublished(engine):
        await publisher.publish_pending()
    assert {number(v) for v in producer.sent} == set(range(2000))
    for order in first_publications(producer.sent).values():
        assert order == sorted(order)


async def test_rows_unpublished_again_in_the_range_of_the_last_pass_are_read_when_it_wakes(
    engine: AsyncEngine,
) -> None:
    """The last pass's rows are left out only while they are being marked. Here SQLite gives the same ids again once
    retention emptied the outbox (a replay of published rows on PostgreSQL is the same case): read at once, in order."""
    producer = FakeProducer(capacity=5)
    signal = OutboxSignal()
    publisher = OutboxRelay(
        engine=engine, producer=SharedProducer(lambda: producer), signal=signal, batch_size=20, poll_interval_s=5.0
    )
    await write(engine, [outbox_row(n) | {"id": None} for n in range(30)])
    async with in_background(publisher.run()):
        await until_published(engine)
        async with engine.begin() as conn:  # retention, a week later
            await conn.execute(delete(OUTBOX))
        await write(engine, [outbox_row(n) | {"id": None} for n in range(100, 160)])  # ids from 1 again
        signal.set()
        await until_published(engine, within_s=2.0)  # not at the next poll, 5 s on
    for order in first_publications(producer.sent).values():
        assert order == sorted(order)


async def test_a_replay_while_the_pass_behind_is_marked_goes_out_before_later_rows(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the next pass leaves out is exactly what is being marked: published rows made unpublished again (the
    restore runbook's replay) are read, though the pass that sent them is still marking its last rows."""
    producer = FakeProducer(capacity=5)
    signal = OutboxSignal()
    publisher = OutboxRelay(
        engine=engine, producer=SharedProducer(lambda: producer), signal=signal, batch_size=20, poll_interval_s=5.0
    )
    mark, held = publisher._mark_published, asyncio.Event()

    async def last_marking_held(ids: list[int]) -> None:
        if 40 in ids:  # the pass's last row: its first rows are marked by now
            await held.wait()
        await mark(ids)

    monkeypatch.setattr(publisher, "_mark_published", last_marking_held)
    await write(engine, [outbox_row(n) for n in range(40)])
    async with in_background(publisher.run()):
        for _ in range(100):
            if len(producer.sent) == 40 and await unpublished(engine) < 40:
                break
            await asyncio.sleep(0.02)
        replayed = len(producer.sent)
        async with engine.begin() as conn:  # replay, and a later event of every key
            await conn.execute(update(OUTBOX).values(published_at=None))
        await write(engine, [outbox_row(n) for n in range(40, 52)])
        signal.set()
        await asyncio.sleep(0.2)
        held.set()
        await until_published(engine)
    for order in first_publications(producer.sent[replayed:]).values():
        assert order == sorted(order)


async def until_published(engine: AsyncEngine, within_s: float = 5.0) -> None:
    for _ in range(int(within_s / 0.02)):
        if not await unpublished(engine):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"rows still unpublished after {within_s} s")


async def test_a_lock_lost_mid_batch_stops_the_rows_within_a_turn_of_the_event_loop(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A standby takes the lock as soon as it is lost: every row sent after that is published twice. Before, the lock
    was looked at only between batches, and the rest of the batch (here 80 rows) went out."""
    monkeypatch.setattr(publication, "LONGEST_TURN_S", 0.0)  # a turn every `YIELD_EVERY` rows, batches waiting or not
    await write(engine, [outbox_row(n) for n in range(200)])
    producer = FakeProducer(capacity=10)
    publisher = relay(engine, SharedProducer(lambda: producer), batch_size=100)
    given = 0
    send_batch = producer.send_batch

    async def counting(batch: FakeBatch, topic: str, *, partition: int) -> asyncio.Future[Any]:
        nonlocal given
        given += len(batch.records)
        return await send_batch(batch, topic, partition=partition)

    async def lost_after_twenty_rows() -> None:
        if given >= 20:
            raise LeadershipLost

    monkeypatch.setattr(producer, "send_batch", counting)
    monkeypatch.setattr(publisher, "_check_leadership", lost_after_twenty_rows)
    with pytest.raises(LeadershipLost):
        await publisher.publish_pending()
    assert 20 <= given <= 20 + 2 * publication.YIELD_EVERY
    assert await marked(engine) == {number(v) for v in producer.sent}


async def test_a_row_committed_behind_the_cursor_is_published_by_the_next_pass(engine: AsyncEngine) -> None:
    late = 49  # its transaction took id 50 but commits once the relay has read past it
    await write(engine, [outbox_row(n) for n in range(300) if n != late])
    producer = CommitsLate(engine, outbox_row(late))
    publisher = relay(engine, SharedProducer(lambda: producer), batch_size=100)
    async with in_background(publisher.run()):
        for _ in range(100):
            if producer.committed and not await unpublished(engine):
                break
            await asyncio.sleep(0.05)
    assert await marked(engine) == set(range(300))
    assert sorted(number(v) for v in producer.sent) == list(range(300))


class CommitsLate(FakeProducer):
    """Commits `row` when the first batch is sent."""

    def __init__(self, engine: AsyncEngine, row: dict[str, Any]) -> None:
        super().__init__(capacity=10)
        self.engine, self.row, self.committed = engine, row, False

    async def send_batch(self, batch: FakeBatch, topic: str, *, partition: int) -> asyncio.Future[Any]:
        if not self.committed:
            await write(self.engine, [self.row])
            self.committed = True
        return await super().send_batch(batch, topic, partition=partition)


async def test_a_row_too_large_stops_the_pass_after_the_rows_before_it(engine: AsyncEngine) -> None:
    rows = [outbox_row(n) for n in range(5)]
    oversized = json.loads(rows[2]["payload"]) | {"padding": "x" * MAX_REQUEST_SIZE}
    rows[2]["payload"] = json.dumps(oversized)
    await write(engine, rows)
    producer = FakeProducer(partitions=1, capacity=10)
    producers = SharedProducer(lambda: producer)
    with pytest.raises(MessageSizeTooLargeError):
        await relay(engine, producers, batch_size=10).publish_pending()
    assert [number(v) for v in producer.sent] == [0, 1]  # sent in a batch of their own, nothing after the refused row
    assert await marked(engine) == {0, 1}
    assert producers.current is producer  # it says nothing about the producer


async def test_a_read_ahead_the_pass_no_longer_needs_is_left_to_finish_not_cancelled(engine: AsyncEngine) -> None:
    """Cancelled mid-query, a read could hand its connection back to the pool with the operation unfinished, and the
    next statement on it (a mark) would fail."""
    async with engine.begin() as conn:
        await conn.execute(insert(OUTBOX), [outbox_row(n) for n in range(3)])
    async with ReadAhead(engine, size=2, max_batches=5) as ahead:
        assert len(await ahead.next()) == 2
        pending = ahead._next  # the second batch, read while the first would be sent
    assert pending is not None and pending.done() and not pending.cancelled()
    assert len(pending.result()) == 1

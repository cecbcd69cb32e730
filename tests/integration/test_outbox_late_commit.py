"""On PostgreSQL: a transaction that drew outbox ids on both sides of the relay's cursor and commits while a pass
reads on. Ids are drawn as rows are inserted, so its first row is behind the cursor when it becomes visible and its
second ahead of it: the relay must still hand them over in id order (a household's MemberAdded never before its
HouseholdRegistered), and skip nothing. Every outbox row records its writer's transaction id for this."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import pytest
from sqlalchemy import insert, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.db import create_engine
from shared.messaging.backlog import ReadAhead
from shared.messaging.kafka import SharedProducer, ensure_topics, make_producer
from shared.messaging.outbox import OUTBOX, OutboxMessage, OutboxSignal
from shared.messaging.relay import OutboxRelay
from shared.timeutil import utcnow
from tests.kafka_support import ce_id, eventually, read_until
from tests.support import in_background

pytestmark = pytest.mark.integration


def row(key: str, n: int) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "topic": "late-commit",
        "key": key,
        "event_type": f"t{n}",
        "source": "/tests",
        "occurred_at": utcnow(),
        "payload": "{}",
    }


async def handed_over(engine: AsyncEngine, size: int) -> list[tuple[str, str]]:
    """(key, event type) of every row, in the order passes of ReadAhead hand them over, each batch marked once
    handed over (as the relay marks what Kafka acknowledged), pass after pass until one catches up."""
    return (await passes(engine, size))[0]


async def passes(engine: AsyncEngine, size: int) -> tuple[list[tuple[str, str]], int]:
    """What `handed_over` hands over, and in how many passes."""
    order: list[tuple[str, str]] = []
    count = 0
    while True:
        count += 1
        async with ReadAhead(engine, size, max_batches=10) as batches:
            while rows := await batches.next():
                order += [(r.key, r.event_type) for r in rows]
                async with engine.begin() as conn:
                    ids = [r.id for r in rows]
                    await conn.execute(update(OUTBOX).where(OUTBOX.c.id.in_(ids)).values(published_at=utcnow()))
        if batches.caught_up:
            return order, count


async def test_a_transaction_committing_across_the_cursor_is_handed_over_in_order(pg_database: Any) -> None:
    engine = create_engine(await pg_database("households"))
    try:
        late = await engine.connect()
        await late.begin()
        await late.execute(insert(OutboxMessage), [row("household", 1)])  # drawn first, committed last
        async with engine.begin() as conn:
            await conn.execute(insert(OutboxMessage), [row(f"other-{n}", 0) for n in range(4)])
        await late.execute(insert(OutboxMessage), [row("household", 2)])  # ahead of the others
        async with ReadAhead(engine, 2, max_batches=10) as batches:
            await eventually(lambda: batches._next is not None and batches._next.done(), timeout=10)
            await late.commit()  # after the first read, before the second: its first row is behind the cursor
            passed = [await batches.next(), await batches.next(), await batches.next()]
        await late.close()
        # The others committed before the pass began: sent. The household's second event is not sent before its
        # first: the pass ends there, unfinished.
        assert [[r.key for r in rows] for rows in passed] == [["other-0", "other-1"], ["other-2", "other-3"], []]
        assert not batches.caught_up
        async with engine.begin() as conn:  # what the pass handed over
            ids = [r.id for rows in passed for r in rows]
            await conn.execute(update(OUTBOX).where(OUTBOX.c.id.in_(ids)).values(published_at=utcnow()))
        assert await handed_over(engine, 2) == [("household", "t1"), ("household", "t2")]
    finally:
        await engine.dispose()


async def test_a_pass_leaves_out_the_rows_the_pass_before_took_and_not_a_row_committed_among_them(
    pg_database: Any,
) -> None:
    """The next pass reads while the rows of the pass before are still being marked: it leaves those out, and reads a
    row of their id range whose transaction committed after that pass began, which that pass never saw."""
    engine = create_engine(await pg_database("households"))
    try:
        late = await engine.connect()
        await late.begin()
        async with engine.begin() as conn:
            await conn.execute(insert(OutboxMessage), [row("early", 1)])
        await late.execute(insert(OutboxMessage), [row("late", 1)])  # its id among theirs, committed after the pass
        async with engine.begin() as conn:
            await conn.execute(insert(OutboxMessage), [row("early", 2)])
        async with ReadAhead(engine, 10, max_batches=10) as before:
            taken = await before.next()
        await late.commit()
        assert [r.key for r in taken] == ["early", "early"]  # none is marked: Kafka's answer is still awaited
        async with ReadAhead(engine, 10, max_batches=10, marking=lambda: [r.id for r in taken]) as after:
            assert [r.key for r in await after.next()] == ["late"]
        await late.close()
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    "writer",
    [
        pytest.param(None, id="written before writers were recorded"),
        pytest.param(text("(pg_current_xact_id()::text::bigint + 10 ^ 6)::text::xid8"), id="restored elsewhere"),
    ],
)
async def test_rows_whose_writer_means_nothing_here_are_read_as_committed(pg_database: Any, writer: Any) -> None:
    """Rows already in the outbox when the column was added have no writer, and rows restored from a dump of
    another cluster carry ids this server has not reached: both are read as committed before the pass, in one pass,
    not one batch a pass."""
    engine = create_engine(await pg_database("households"))
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(OutboxMessage), [row(f"old-{n}", 0) for n in range(5)])
            await conn.execute(update(OUTBOX).values(txid=writer))
        order, count = await passes(engine, 2)
        assert [key for key, _ in order] == [f"old-{n}" for n in range(5)] and count == 1
    finally:
        await engine.dispose()


async def test_writers_whose_transactions_straddle_the_relay_keep_each_keys_order(pg_database: Any, kafka: str) -> None:
    """Writers whose transactions insert a key's next two events with a pause between them (ids drawn apart, while
    bulk writers commit runs of rows into the gap and keep the relay reading full batches ahead): on Kafka each
    key's events come in the order they were written, each at least once."""
    topic = f"late-commit-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka, [topic])
    engine = create_engine(await pg_database("households"))
    producer = SharedProducer(lambda: make_producer(kafka, client_id="test-late-commit"))
    await producer.start()
    relay = OutboxRelay(engine=engine, producer=producer, signal=OutboxSignal(), batch_size=20, poll_interval_s=0.05)
    writing = [_write_pairs(engine, topic, f"pair-{w}", pairs=20) for w in range(6)]
    writing += [_write_runs(engine, topic, f"run-{w}", runs=40) for w in range(3)]
    try:
        async with in_background(relay.run()):
            expected = sum(await asyncio.gather(*writing))
            records = await read_until(kafka, topic, lambda rs: len({ce_id(r) for r in rs}) >= expected, timeout=60)
    finally:
        await producer.stop()
        await engine.dispose()
    firsts: dict[bytes, list[int]] = {}
    seen: set[str] = set()
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        if ce_id(record) not in seen:
            seen.add(ce_id(record))
            assert record.key is not None and record.value is not None
            firsts.setdefault(record.key, []).append(int(record.value))
    assert len(seen) == expected
    assert all(numbers == sorted(numbers) for numbers in firsts.values()), firsts


async def _write_pairs(engine: AsyncEngine, topic: str, key: str, pairs: int) -> int:
    """`pairs` transactions, each the key's next two events with a pause between them; how many events."""
    for t in range(pairs):
        async with engine.begin() as conn:
            await _insert(conn, topic, [(key, 2 * t)])
            await asyncio.sleep(random.uniform(0.005, 0.03))
            await _insert(conn, topic, [(key, 2 * t + 1)])
    return 2 * pairs


async def _write_runs(engine: AsyncEngine, topic: str, key: str, runs: int) -> int:
    """`runs` transactions of 25 events each, numbered on over ten keys; how many events."""
    for t in range(runs):
        async with engine.begin() as conn:
            await _insert(conn, topic, [(f"{key}-{n % 10}", n) for n in range(25 * t, 25 * t + 25)])
        await asyncio.sleep(0.002)
    return 25 * runs


async def _insert(conn: AsyncConnection, topic: str, events: list[tuple[str, int]]) -> None:
    await conn.execute(insert(OutboxMessage), [{**row(key, n), "topic": topic, "payload": str(n)} for key, n in events])

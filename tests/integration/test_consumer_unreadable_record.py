"""A record the Kafka client cannot unpack (here a header key that is not UTF-8, as a Go or C client can write) fails
aiokafka's whole fetch: the records of the other partitions taken in that fetch must not be skipped, and those before
it on its own partition are applied; it is then quarantined and its partition goes on after it
(tests/integration/test_consumer_quarantine.py tries every way the client can fail)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import TopicPartition
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import create_engine, session_factory
from shared.messaging.cloudevents import Envelope
from shared.messaging.consumer import ConsumerRunner
from shared.messaging.handlers import HandlerRegistry
from shared.messaging.kafka import ensure_topics, make_consumer, make_producer
from shared.messaging.quarantine_records import QuarantinedRecord
from tests.kafka_support import eventually

pytestmark = pytest.mark.integration

# aiokafka's C record builder encodes header keys itself; its pure-Python one calls the key's own `encode`.
UNREADABLE = """
import asyncio, sys
from aiokafka import AIOKafkaProducer

class NotUtf8(str):
    def encode(self, *args, **kwargs):
        return b"ce_\\xff\\xfeid"

async def main(bootstrap, topic):
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"{}", partition=0, headers=[(NotUtf8("x"), b"1")])
    finally:
        await producer.stop()

asyncio.run(main(*sys.argv[1:]))
"""


async def test_an_unreadable_record_is_quarantined_and_nothing_is_skipped(kafka: str, pg_database: Any) -> None:
    topic = f"unreadable-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka, [topic, f"{topic}.dlq"], partitions=2)
    engine = create_engine(await pg_database("audit"))  # any service's schema: the runner needs its inbox
    producer = make_producer(kafka, client_id="test")
    await producer.start()
    applied: list[tuple[int, int]] = []
    handlers = HandlerRegistry()

    @handlers.observe(topic)
    async def note(_: AsyncSession, envelope: Envelope, __: str) -> None:
        applied.append(tuple(json.loads(envelope.data)))

    async def send(partition: int, n: int) -> None:
        envelope = Envelope(
            id=str(uuid.uuid4()),
            type="t.v1",
            source="/tests",
            subject=f"s-{n}",
            time=datetime.now(UTC),
            data=json.dumps([partition, n]).encode(),
        )
        await producer.send_and_wait(topic, envelope.data, partition=partition, headers=envelope.to_headers())

    for n in range(10):
        await send(0, n)
    env = {**os.environ, "AIOKAFKA_NO_EXTENSIONS": "1"}
    writer = await asyncio.create_subprocess_exec(sys.executable, "-c", UNREADABLE, kafka, topic, env=env)
    assert await asyncio.wait_for(writer.wait(), 60) == 0
    for n in range(10):
        await send(1, n)
    consumer = make_consumer(kafka, group_id=f"g-{uuid.uuid4().hex[:8]}", topics=[topic])
    await consumer.start()
    runner = ConsumerRunner(
        name="g", handlers=handlers, sessions=session_factory(engine), consumer=consumer, dlq_producer=producer
    )
    running = asyncio.create_task(runner.run())
    try:
        await eventually(lambda: len(applied) == 20, timeout=30)
        for n in range(10, 20):  # both partitions go on
            await send(0, n)
            await send(1, n)
        await eventually(lambda: len(applied) == 40, timeout=30)

        async def committed() -> dict[int, int | None]:
            return {p: await consumer.committed(TopicPartition(topic, p)) for p in (0, 1)}

        # A record is applied before its offset is committed: wait for the commit rather than look right away.
        await eventually(lambda: _reached(committed(), {0: 21, 1: 20}), timeout=30)
        async with AsyncSession(engine) as session:
            kept = [(r.topic, r.partition, r.offset) for r in (await session.scalars(select(QuarantinedRecord))).all()]
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await consumer.stop()
        await producer.stop()
        await engine.dispose()
    assert sorted(applied) == sorted([(0, n) for n in range(20)] + [(1, n) for n in range(20)])
    assert [n for p, n in applied if p == 0] == list(range(20))  # in order around the unreadable record
    assert kept == [(topic, 0, 10)]


async def _reached(committed: Awaitable[dict[int, int | None]], expected: dict[int, int]) -> bool:
    return await committed == expected

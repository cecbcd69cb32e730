"""On a real broker and PostgreSQL: a partition that fails while the relay drains a backlog in pipelined batches.

The relay sends batches while earlier ones are in flight; when one partition's batches fail (no leader until they
expire) the other partitions' rows are acknowledged and marked, and once the partition is back each key's events are
on the topic in the order they were recorded: no row overtakes one of its key that failed, none is lost.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from sqlalchemy import insert

from shared.contracts.households import HouseholdRegistered
from shared.db import create_engine
from shared.messaging.kafka import SharedProducer, ensure_topics
from shared.messaging.outbox import OutboxMessage
from shared.timeutil import utcnow
from tests.integration.test_outbox_relay import Outbox
from tests.kafka_support import eventually, read_until
from tests.support import in_background

pytestmark = pytest.mark.integration

EVENTS, KEYS = 3_000, 30


def backlog_row(topic: str, n: int) -> dict[str, Any]:
    household = uuid.UUID(int=n % KEYS + 1)
    event = HouseholdRegistered(
        household_id=household, household_code=f"T-{n}", area_code="371523101201", member_count=1
    )
    return {
        "event_id": str(uuid.uuid4()),
        "topic": topic,
        "key": str(household),
        "event_type": event.event_type,
        "source": "/tests",
        "occurred_at": utcnow(),
        "payload": event.model_dump_json(),
    }


async def test_a_partition_failing_under_a_backlog_keeps_each_keys_order(kafka: str, pg_database: Any) -> None:
    topic = f"relay-pipeline-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka, [topic], partitions=3)
    engine = create_engine(await pg_database("households"))
    # As the platform's producer, with a short request timeout so that a partition's batches expire soon.
    producers = SharedProducer(
        lambda: AIOKafkaProducer(
            bootstrap_servers=kafka, enable_idempotence=True, acks="all", linger_ms=5, request_timeout_ms=2000
        )
    )
    await producers.start()
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(OutboxMessage), [backlog_row(topic, n) for n in range(EVENTS)])
        outbox = Outbox(engine, producers, poll_interval_s=0.5)
        first, partition = producers.current, TopicPartition(topic, 0)
        leader = first.client.cluster.leader_for_partition
        first.client.cluster.leader_for_partition = lambda tp: -1 if tp == partition else leader(tp)
        async with in_background(outbox.relay(batch_size=100).run()):
            await eventually(lambda: _some_marked(outbox), timeout=30)  # the other partitions go on meanwhile
            await asyncio.sleep(3)  # the failing partition's batches expire, pass after pass
            first.client.cluster.leader_for_partition = leader
            assert await outbox.all_marked(timeout=60)
        records = await read_until(kafka, topic, lambda rs: len({r.value for r in rs}) >= EVENTS, settle=1.0)
    finally:
        await producers.stop()
        await engine.dispose()
    first_seen: dict[bytes, list[int]] = {}
    published: set[int] = set()
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        n = int(json.loads(record.value)["household_code"].removeprefix("T-"))
        if n not in published:
            published.add(n)
            first_seen.setdefault(record.key, []).append(n)
    assert published == set(range(EVENTS))
    assert len(first_seen) == KEYS
    for order in first_seen.values():
        assert order == sorted(order)


async def _some_marked(outbox: Outbox) -> bool:
    return await outbox.unpublished() < EVENTS

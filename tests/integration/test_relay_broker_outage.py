"""The relay survives a broker outage: what is committed while Kafka is down is published when it returns.

The outage is a real stop and restart of a broker of the test's own, which also shows the local broker keeps its
data across a restart: the records and a consumer group's committed offsets written before it are there after."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from shared.contracts import HOUSEHOLDS_TOPIC
from shared.db import create_engine
from shared.local.kafka import LocalKafka
from shared.messaging.kafka import SharedProducer, ensure_topics, make_producer
from tests.integration.test_outbox_relay import Outbox
from tests.kafka_support import ce_id, read_until
from tests.support import in_background

pytestmark = pytest.mark.integration


GROUP = "outage-reader"


async def commit_read(bootstrap: str, record: ConsumerRecord[bytes, bytes]) -> dict[TopicPartition, int]:
    """A consumer group commits having read `record`; the offsets it committed."""
    offsets = {TopicPartition(record.topic, record.partition): record.offset + 1}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=GROUP, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
        return offsets
    finally:
        await consumer.stop()


async def committed(bootstrap: str, offsets: dict[TopicPartition, int]) -> dict[TopicPartition, int | None]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=GROUP, enable_auto_commit=False)
    await consumer.start()
    try:
        return {tp: await consumer.committed(tp) for tp in offsets}
    finally:
        await consumer.stop()


async def test_events_committed_during_an_outage_are_published_after_it(tmp_path: Path, pg_database: Any) -> None:
    broker = LocalKafka(data_dir=tmp_path / "kafka")
    engine = create_engine(await pg_database("households"))
    async with broker:
        await ensure_topics(broker.bootstrap_servers, [HOUSEHOLDS_TOPIC])
        producer = SharedProducer(lambda: make_producer(broker.bootstrap_servers, client_id="outage-relay"))
        await producer.start()
        outbox = Outbox(engine, producer, poll_interval_s=0.5)
        try:
            async with in_background(outbox.relay().run()):
                before = await outbox.commit_event()
                seen = await read_until(broker.bootstrap_servers, HOUSEHOLDS_TOPIC, lambda rs: before in map(ce_id, rs))
                offsets = await commit_read(broker.bootstrap_servers, next(r for r in seen if ce_id(r) == before))
                await asyncio.to_thread(broker.stop)
                during = await outbox.commit_event()
                await asyncio.sleep(2)  # the relay fails and backs off meanwhile
                assert await outbox.unpublished() == 1
                await asyncio.to_thread(broker.start)
                await broker.wait_ready_async()
                records = await read_until(
                    broker.bootstrap_servers, HOUSEHOLDS_TOPIC, lambda rs: during in map(ce_id, rs), timeout=90
                )
                assert await outbox.all_marked()
                assert await committed(broker.bootstrap_servers, offsets) == offsets
            assert [ce_id(r) for r in records].count(before) == 1
        finally:
            await producer.stop()
            await engine.dispose()

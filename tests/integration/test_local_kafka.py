"""A real single-node Kafka broker: topic, idempotent produce, consume, and data that survives a restart."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.local.kafka import LocalKafka

pytestmark = pytest.mark.integration

TOPIC = "local-kafka-smoke"
GROUP = "local-kafka-smoke-reader"
# Generous: on a shared 2-core machine running other suites a cold JVM start took up to a minute.
READY_TIMEOUT = 180.0
Record = tuple[bytes, bytes]  # (key, value)


async def _create_topic(bootstrap: str, name: str, partitions: int = 3) -> None:
    """Create a topic explicitly (auto-creation is off) and fail on any broker error code."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        new_topic = NewTopic(name, num_partitions=partitions, replication_factor=1)
        response = await admin.create_topics([new_topic])
        errors = [(topic, code, msg) for topic, code, msg in response.topic_errors if code != 0]
        assert not errors, errors
        assert name in await admin.list_topics()
    finally:
        await admin.close()


async def _produce(bootstrap: str, records: list[Record]) -> None:
    """Send records with an idempotent producer, gathering the delivery futures."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        futures = [await producer.send(TOPIC, value=value, key=key) for key, value in records]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def _consume(bootstrap: str, group: str, expected: int, budget: float = 60) -> list[Record]:
    """Read the topic from the start until `expected` records arrive; commit what was read."""
    consumer = AIOKafkaConsumer(
        TOPIC,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    got: list[Record] = []
    try:
        async with asyncio.timeout(budget):
            while len(got) < expected:
                batches = await consumer.getmany(timeout_ms=500)
                for tp, messages in batches.items():
                    got.extend((m.key, m.value) for m in messages)
                    await consumer.commit({tp: messages[-1].offset + 1})
    finally:
        await consumer.stop()
    return got


async def _committed(bootstrap: str, group: str) -> dict[int, int | None]:
    """Return the group's committed offset per partition of the topic."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        return {p: await consumer.committed(TopicPartition(TOPIC, p)) for p in range(3)}
    finally:
        await consumer.stop()


@pytest.fixture
async def own_broker(tmp_path: Path) -> AsyncIterator[LocalKafka]:
    """A broker of this test's own (it is restarted, so not the session one), data in tmp_path."""
    broker = LocalKafka(data_dir=tmp_path / "kafka", ready_timeout=READY_TIMEOUT)
    async with broker:
        yield broker


async def test_produce_consume_and_survive_restart(own_broker: LocalKafka) -> None:
    """Records and committed offsets written before a clean restart are readable after it."""
    kafka = own_broker
    bootstrap = kafka.bootstrap_servers
    records = [(f"household-{i}".encode(), f'{{"event": "registered", "n": {i}}}'.encode()) for i in range(6)]
    await _create_topic(bootstrap, TOPIC)
    await _produce(bootstrap, records)
    assert sorted(await _consume(bootstrap, GROUP, len(records))) == sorted(records)
    committed_before = await _committed(bootstrap, GROUP)
    assert sum(offset or 0 for offset in committed_before.values()) == len(records)

    await asyncio.to_thread(kafka.stop)
    assert not kafka.is_running
    await asyncio.to_thread(kafka.start)
    await kafka.wait_ready_async(READY_TIMEOUT)

    # A fresh group reads everything from the start: the records are on disk, not just in memory.
    assert sorted(await _consume(bootstrap, GROUP + "-after-restart", len(records))) == sorted(records)
    assert await _committed(bootstrap, GROUP) == committed_before
    # And the restarted broker still takes writes on the same topic.
    await _produce(bootstrap, [(b"household-new", b'{"event": "after-restart"}')])
    assert len(await _consume(bootstrap, GROUP + "-final", len(records) + 1)) == len(records) + 1


async def test_wait_ready_fails_fast_with_log_tail(tmp_path: Path) -> None:
    """A broker that cannot bind its port exits, and wait_ready reports that with the broker log."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        broker = LocalKafka(data_dir=tmp_path / "kafka", port=taken.getsockname()[1])
        await asyncio.to_thread(broker.start)
        try:
            with pytest.raises(RuntimeError, match="exited with code") as failure:
                await broker.wait_ready_async(READY_TIMEOUT)
        finally:
            await asyncio.to_thread(broker.stop)
    message = str(failure.value)
    assert "errors logged by this run" in message
    assert "broker.log" in message
    # The cause, logged well before the shutdown chatter that fills the tail, is in the message.
    assert "Address already in use" in message.partition("tail:")[0]

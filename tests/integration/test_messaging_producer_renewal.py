"""On a real broker: an idempotent producer wedged by an expired batch is replaced, and publishing goes on."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from shared.messaging.kafka import SharedProducer, ensure_topics

pytestmark = pytest.mark.integration


async def test_a_producer_wedged_by_an_expired_batch_is_replaced(kafka: str) -> None:
    topic = f"renewal-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka, [topic], partitions=1)
    producers = SharedProducer(
        # As the platform's producer (idempotent, acks=all), with a short request timeout so the batch expires soon.
        lambda: AIOKafkaProducer(bootstrap_servers=kafka, enable_idempotence=True, acks="all", request_timeout_ms=2000)
    )
    await producers.start()
    try:
        await producers.send_and_wait(topic, b"r0", key=b"K", headers=[])
        wedged, partition = producers.current, TopicPartition(topic, 0)
        leader = wedged.client.cluster.leader_for_partition
        # The metadata says the partition has no leader (an election, a broker restarting) until the batch expires.
        wedged.client.cluster.leader_for_partition = lambda tp: -1 if tp == partition else leader(tp)
        with pytest.raises(KafkaError):
            await asyncio.wait_for(producers.send_and_wait(topic, b"r1", key=b"K", headers=[]), 60)
        wedged.client.cluster.leader_for_partition = leader
        failures = []
        for _ in range(3):
            try:
                await producers.send_and_wait(topic, b"r2", key=b"K", headers=[])
                break
            except KafkaError as exc:
                failures.append(type(exc).__name__)
        else:
            pytest.fail(f"the producer stayed wedged: {failures}")
        assert producers.current is not wedged
        assert failures == ["OutOfOrderSequenceNumber"]
    finally:
        await producers.stop()

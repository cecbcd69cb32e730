"""Kafka clients configured the way this platform needs them (aiokafka's defaults are too weak)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

log = logging.getLogger(__name__)
TOPIC_ALREADY_EXISTS = 36


def make_producer(bootstrap_servers: str, *, client_id: str) -> AIOKafkaProducer:
    """An idempotent producer (acks=all): retries never duplicate or reorder within a partition."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        request_timeout_ms=15000,
        retry_backoff_ms=200,
    )


def make_consumer(bootstrap_servers: str, *, group_id: str, topics: Iterable[str]) -> AIOKafkaConsumer:
    """A consumer that commits only what the inbox has applied, reading from the start for new groups."""
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        client_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_poll_records=500,
        session_timeout_ms=10000,
        heartbeat_interval_ms=3000,
        metadata_max_age_ms=30000,
    )


async def ensure_topics(
    bootstrap_servers: str, topics: Iterable[str], *, partitions: int = 3, replication_factor: int = 1
) -> None:
    """Create the topics that are missing; an existing topic is left as it is."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=15000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if not missing:
            return
        response = await admin.create_topics(
            [NewTopic(name=t, num_partitions=partitions, replication_factor=replication_factor) for t in missing]
        )
        for topic_error in response.topic_errors:
            name, code = topic_error[0], topic_error[1]
            if code not in (0, TOPIC_ALREADY_EXISTS):
                raise RuntimeError(f"could not create topic {name}: error code {code}")
        log.info("created topics", extra={"topics": missing})
    finally:
        await admin.close()


async def ping(producer: AIOKafkaProducer) -> None:
    """Raise unless the producer can reach the cluster (used by readiness)."""
    await producer.client.fetch_all_metadata()

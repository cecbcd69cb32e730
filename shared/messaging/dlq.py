"""Replaying a dead-letter topic: once the cause is fixed, its records go back to their source topic."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from shared.contracts import DLQ_SUFFIX
from shared.messaging.kafka import PLAINTEXT, KafkaSecurity, make_consumer, make_producer


def source_topic(record: ConsumerRecord[bytes, bytes]) -> str:
    """The topic a dead letter came from (its header, or the DLQ name without the suffix)."""
    header: bytes | None = dict(record.headers).get("dlq_source_topic")
    topic: str = record.topic
    return header.decode() if header else topic.removesuffix(DLQ_SUFFIX)


def original_headers(record: ConsumerRecord[bytes, bytes]) -> list[tuple[str, bytes]]:
    """The record's headers without the error annotations the consumer added."""
    return [(k, v) for k, v in record.headers if not k.startswith("dlq_")]


async def replay(dlq_topic: str, *, bootstrap_servers: str, group_id: str, security: KafkaSecurity = PLAINTEXT) -> int:
    """Republish every not-yet-replayed record of `dlq_topic` that was in it when the replay started; the group's
    offsets remember progress. Records dead-lettered again meanwhile (the cause not fixed after all) stay for the
    next replay: taking them too could go on for ever. Returns the number of records replayed."""
    if not dlq_topic.endswith(DLQ_SUFFIX):
        raise ValueError(f"{dlq_topic} is not a dead-letter topic (must end with {DLQ_SUFFIX})")
    consumer = make_consumer(bootstrap_servers, group_id=group_id, topics=[dlq_topic], security=security)
    producer = make_producer(bootstrap_servers, client_id=group_id, security=security)
    await consumer.start()
    await producer.start()
    try:
        ends = await _end_offsets(consumer, dlq_topic)
        return await _drain(consumer, producer, ends) if any(ends.values()) else 0
    finally:
        await consumer.stop()
        await producer.stop()


async def _end_offsets(consumer: AIOKafkaConsumer, topic: str) -> dict[TopicPartition, int]:
    """The end offset of each partition of `topic` now, before anything is replayed (none when no such topic)."""
    partitions = consumer.partitions_for_topic(topic) or set()  # looked up as the consumer started
    if not partitions:
        return {}
    ends: dict[TopicPartition, int] = await consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
    return ends


async def _drain(consumer: AIOKafkaConsumer, producer: AIOKafkaProducer, ends: dict[TopicPartition, int]) -> int:
    """Replay the records before `ends` (the end offsets when the replay started) of the partitions assigned."""
    replayed = 0
    while True:
        batches: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = await consumer.getmany(timeout_ms=500)
        for tp, fetched in batches.items():
            records = [r for r in fetched if r.offset < ends.get(tp, 0)]
            if not records:
                continue  # dead-lettered after the replay started
            futures = [
                await producer.send(source_topic(r), r.value, key=r.key, headers=original_headers(r)) for r in records
            ]
            await asyncio.gather(*futures)
            await consumer.commit({tp: records[-1].offset + 1})
            replayed += len(records)
        assigned = consumer.assignment()
        if assigned and all([await consumer.position(tp) >= ends.get(tp, 0) for tp in assigned]):
            return replayed

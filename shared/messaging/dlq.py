"""Replaying a dead-letter topic: once the cause is fixed, its records go back to their source topic.

A replay takes every record not yet replayed (the group's offsets remember progress), or only those an operator
selects (a partition's offset range, an event type, an event id: read from the start, nothing remembered). A record
that is still poison (not a CloudEvent, or not valid by its contract) is never put back: it is reported and stays in
the dead-letter topic, where its partition and offset find it.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from pydantic import ValidationError

from shared.contracts import DLQ_SUFFIX, contract_for
from shared.messaging.cloudevents import Envelope, MalformedEvent
from shared.messaging.kafka import PLAINTEXT, KafkaSecurity, make_consumer, make_producer


@dataclass(frozen=True)
class Selection:
    """Which dead letters a replay takes: all of them (nothing set), or those matching every criterion given."""

    partition: int | None = None
    first_offset: int | None = None
    last_offset: int | None = None
    event_type: str | None = None
    event_id: str | None = None

    @property
    def everything(self) -> bool:
        return all(
            v is None for v in (self.partition, self.first_offset, self.last_offset, self.event_type, self.event_id)
        )

    def takes(self, record: ConsumerRecord[bytes, bytes]) -> bool:
        headers = {k: v for k, v in record.headers if isinstance(v, bytes)}
        return (
            (self.partition is None or record.partition == self.partition)
            and (self.first_offset is None or record.offset >= self.first_offset)
            and (self.last_offset is None or record.offset <= self.last_offset)
            and (self.event_type is None or headers.get("ce_type") == self.event_type.encode())
            and (self.event_id is None or headers.get("ce_id") == self.event_id.encode())
        )


@dataclass
class ReplayReport:
    """What a replay did: records put back, and those left because they are still poison (partition:offset, why)."""

    replayed: int = 0
    still_poison: list[str] = field(default_factory=list)


def poison_reason(record: ConsumerRecord[bytes, bytes]) -> str | None:
    """Why the record would be dead-lettered again at once (unreadable, or invalid by its contract), or None."""
    try:
        envelope = Envelope.from_record(original_headers(record), record.value)
        contract = contract_for(envelope.type)
        if contract is not None:
            contract.model_validate_json(envelope.data)
    except MalformedEvent as exc:
        return str(exc)
    except ValidationError:
        return "not valid by its contract"
    return None


def source_topic(record: ConsumerRecord[bytes, bytes]) -> str:
    """The topic a dead letter came from (its header, or the DLQ name without the suffix)."""
    header: bytes | None = dict(record.headers).get("dlq_source_topic")
    topic: str = record.topic
    return header.decode() if header else topic.removesuffix(DLQ_SUFFIX)


def original_headers(record: ConsumerRecord[bytes, bytes]) -> list[tuple[str, bytes]]:
    """The record's headers without the error annotations the consumer added."""
    return [(k, v) for k, v in record.headers if not k.startswith("dlq_")]


async def replay(
    dlq_topic: str,
    *,
    bootstrap_servers: str,
    group_id: str,
    security: KafkaSecurity = PLAINTEXT,
    selection: Selection = Selection(),
) -> ReplayReport:
    """Republish the records of `dlq_topic` that were in it when the replay started: every one not yet replayed (the
    group's offsets remember progress), or those `selection` takes (read from the start, remembered by no group).
    Records dead-lettered again meanwhile stay for the next replay: taking them too could go on for ever."""
    if not dlq_topic.endswith(DLQ_SUFFIX):
        raise ValueError(f"{dlq_topic} is not a dead-letter topic (must end with {DLQ_SUFFIX})")
    remember = selection.everything
    group = group_id if remember else f"{group_id}-selection-{uuid.uuid4().hex[:8]}"
    consumer = make_consumer(bootstrap_servers, group_id=group, topics=[dlq_topic], security=security)
    producer = make_producer(bootstrap_servers, client_id=group_id, security=security)
    await consumer.start()
    await producer.start()
    try:
        ends = await _end_offsets(consumer, dlq_topic)
        report = ReplayReport()
        if any(ends.values()):
            await _drain(consumer, producer, ends, selection, report, remember=remember)
        return report
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


async def _drain(
    consumer: AIOKafkaConsumer,
    producer: AIOKafkaProducer,
    ends: dict[TopicPartition, int],
    selection: Selection,
    report: ReplayReport,
    *,
    remember: bool,
) -> None:
    """Replay the selected records before `ends` (the end offsets when the replay started) of the partitions
    assigned, leaving out those still poison; with `remember`, commit the group's progress past each batch."""
    while True:
        batches: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = await consumer.getmany(timeout_ms=500)
        for tp, fetched in batches.items():
            records = [r for r in fetched if r.offset < ends.get(tp, 0)]
            if not records:
                continue  # dead-lettered after the replay started
            sendable = []
            for record in filter(selection.takes, records):
                if (reason := poison_reason(record)) is None:
                    sendable.append(record)
                else:
                    report.still_poison.append(f"{record.partition}:{record.offset} {reason}")
            futures = [
                await producer.send(source_topic(r), r.value, key=r.key, headers=original_headers(r)) for r in sendable
            ]
            await asyncio.gather(*futures)
            if remember:
                await consumer.commit({tp: records[-1].offset + 1})
            report.replayed += len(sendable)
        assigned = consumer.assignment()
        if assigned and all([await consumer.position(tp) >= ends.get(tp, 0) for tp in assigned]):
            return

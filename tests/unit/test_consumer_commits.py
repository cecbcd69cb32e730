"""The consumer commits a partition's offsets once its records are applied, never past a stalled partition's record."""

from __future__ import annotations

from aiokafka import TopicPartition
from aiokafka.errors import TopicAuthorizationFailedError

from shared.contracts import HOUSEHOLDS_TOPIC
from tests.unit.test_messaging_consumer_failures import (
    TP,
    FakeConsumer,
    FakeDeadLetters,
    Harness,
    harness,
    record,
    tombstone,
)

__all__ = ["harness"]  # the fixture


async def test_a_partition_is_committed_once_its_records_are_applied(harness: Harness) -> None:
    partitions = [TopicPartition(HOUSEHOLDS_TOPIC, n) for n in range(3)]
    consumer = FakeConsumer({tp: [record(o, partition=tp.partition) for o in range(4)] for tp in partitions})
    requests: list[dict[TopicPartition, int]] = []
    commit = consumer.commit

    async def watched(offsets: dict[TopicPartition, int]) -> None:
        for tp, offset in offsets.items():  # never ahead of what is applied
            assert sum(applied.startswith(f"ev-{tp.partition}-") for applied in harness.applied) == offset
        requests.append(dict(offsets))
        await commit(offsets)

    consumer.commit = watched  # type: ignore[method-assign]
    await harness.run_until(harness.runner(consumer), lambda: len(consumer.committed) == 3)
    assert consumer.committed == {tp: 4 for tp in partitions}
    assert 1 <= len(requests) <= 3 and sum(len(request) for request in requests) == 3
    assert len(harness.applied) == 12


async def test_a_stalled_partition_is_committed_up_to_its_stuck_record(harness: Harness) -> None:
    other = TopicPartition(HOUSEHOLDS_TOPIC, 1)
    consumer = FakeConsumer({TP: [record(0), tombstone(1), record(2)], other: [record(0, partition=1)]})
    requests: list[dict[TopicPartition, int]] = []
    commit = consumer.commit

    async def watched(offsets: dict[TopicPartition, int]) -> None:
        requests.append(dict(offsets))
        await commit(offsets)

    consumer.commit = watched  # type: ignore[method-assign]
    refused = [TopicAuthorizationFailedError() for _ in range(100)]  # until an operator fixes the ACL
    runner = harness.runner(consumer, FakeDeadLetters(*refused))
    await harness.run_until(runner, lambda: TP in consumer.committed and other in consumer.committed)
    assert consumer.committed == {TP: 1, other: 1}
    assert all(request.get(TP, 1) == 1 for request in requests)

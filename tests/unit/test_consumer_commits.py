"""The consumer commits the offsets of a round's partitions in one request, never past a stalled partition's record."""

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


async def test_the_partitions_of_a_round_are_committed_in_one_request(harness: Harness) -> None:
    partitions = [TopicPartition(HOUSEHOLDS_TOPIC, n) for n in range(3)]
    consumer = FakeConsumer({tp: [record(o, partition=tp.partition) for o in range(4)] for tp in partitions})
    requests: list[dict[TopicPartition, int]] = []
    commit = consumer.commit

    async def watched(offsets: dict[TopicPartition, int]) -> None:
        requests.append(dict(offsets))
        await commit(offsets)

    consumer.commit = watched  # type: ignore[method-assign]
    await harness.run_until(harness.runner(consumer), lambda: len(consumer.committed) == 3)
    assert requests == [{tp: 4 for tp in partitions}]
    assert len(harness.applied) == 12


async def test_a_stalled_partition_is_committed_up_to_its_stuck_record_with_the_others(harness: Harness) -> None:
    other = TopicPartition(HOUSEHOLDS_TOPIC, 1)
    consumer = FakeConsumer({TP: [record(0), tombstone(1), record(2)], other: [record(0, partition=1)]})
    requests: list[dict[TopicPartition, int]] = []
    commit = consumer.commit

    async def watched(offsets: dict[TopicPartition, int]) -> None:
        requests.append(dict(offsets))
        await commit(offsets)

    consumer.commit = watched  # type: ignore[method-assign]
    runner = harness.runner(consumer, FakeDeadLetters(TopicAuthorizationFailedError()))
    await harness.run_until(runner, lambda: bool(requests))
    assert requests[0] == {TP: 1, other: 1}

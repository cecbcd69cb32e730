"""A partition's next records are fetched while its task runs: a record arriving then is applied as soon as the task
is done, not after the fetch under way gives up waiting; order and commits are kept."""

from __future__ import annotations

import asyncio

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import TopicAuthorizationFailedError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import HOUSEHOLDS_TOPIC
from shared.messaging.cloudevents import Envelope
from tests.unit.test_messaging_consumer_failures import (
    TP,
    FakeConsumer,
    Harness,
    HeldDeadLetters,
    harness,
    record,
    tombstone,
    until,
)

__all__ = ["harness"]  # the fixture


class LongPollingConsumer(FakeConsumer):
    """Like aiokafka against a broker: a fetch asks for the partitions not paused when it starts and waits until one
    of them has records. A real one gives up after `fetch_max_wait_ms` (a partition resumed meanwhile waits that
    long): here it waits for good, unless told to give up after `timeout_ms` as `getmany` does."""

    def __init__(
        self, logs: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]], *, gives_up: bool = False
    ) -> None:
        super().__init__(logs)
        self.fetches, self.gives_up = 0, gives_up

    async def getmany(
        self, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        self.fetches += 1
        asked = self.assignment() - self.paused
        deadline = asyncio.get_running_loop().time() + timeout_ms / 1000
        while not self.gives_up or asyncio.get_running_loop().time() < deadline:
            batches = {}
            for tp in asked - self.paused:  # records of a partition paused meanwhile are not handed over
                if self.logs[tp][self.positions[tp] :]:
                    batches[tp], self.positions[tp] = self.logs[tp][self.positions[tp] :], len(self.logs[tp])
            if batches:
                return batches
            await asyncio.sleep(0.001)
        return {}


def blocking_first_event(harness: Harness) -> asyncio.Event:
    """The first event's handler waits for the returned gate."""
    gate = asyncio.Event()

    @harness.handlers.observe(HOUSEHOLDS_TOPIC)
    async def hold(session: AsyncSession, env: Envelope, topic: str) -> None:
        if env.id == "ev-0-0":
            await gate.wait()

    return gate


async def test_a_record_arriving_while_its_partition_is_worked_on_is_applied_without_another_fetch(
    harness: Harness,
) -> None:
    gate = blocking_first_event(harness)
    consumer = LongPollingConsumer({TP: [record(0)]})
    fetching_during_work = lambda: "ev-0-0" in harness.applied and consumer.fetches >= 2  # noqa: E731

    async def scenario() -> None:
        await until(fetching_during_work)  # the next fetch went out while the first record is applied
        consumer.logs[TP].append(record(1))
        gate.set()

    arrival = asyncio.create_task(scenario())
    await harness.run_until(harness.runner(consumer), lambda: consumer.committed.get(TP) == 2)
    await arrival
    assert harness.applied == ["ev-0-0", "ev-0-1"]


async def test_records_waiting_behind_a_busy_partition_are_applied_in_order_and_a_full_batch_pauses_it(
    harness: Harness,
) -> None:
    gate = blocking_first_event(harness)
    other = TopicPartition(HOUSEHOLDS_TOPIC, 1)
    consumer = LongPollingConsumer({TP: [record(0)], other: []})
    paused_seen: list[bool] = []

    async def hand_over(offset: int) -> None:
        """One record for one fetch, while the first is applied."""
        await until(lambda: consumer.fetches >= offset + 1)
        consumer.logs[TP].append(record(offset))
        await until(lambda: consumer.positions[TP] == offset + 1)

    async def scenario() -> None:
        await hand_over(1)
        await hand_over(2)
        await until(lambda: consumer.fetches >= 4)
        paused_seen.append(TP in consumer.paused)  # a batch waits in hand: no more is fetched for it meanwhile
        consumer.logs[TP].append(record(3))
        gate.set()
        await until(lambda: harness.applied.count("ev-0-2") == 1)
        consumer.logs[other].append(record(0, partition=1))  # ends the fetch that went out while it was paused

    arrival = asyncio.create_task(scenario())
    runner = harness.runner(consumer, batch_size=2)
    await harness.run_until(runner, lambda: consumer.committed.get(TP) == 4 and consumer.committed.get(other) == 1)
    await arrival
    assert paused_seen == [True]
    assert [event for event in harness.applied if event.startswith("ev-0-")] == ["ev-0-0", "ev-0-1", "ev-0-2", "ev-0-3"]
    assert TP not in consumer.paused


async def test_records_waiting_behind_a_partition_that_stalls_are_read_again_and_applied_once(
    harness: Harness,
) -> None:
    # A fetch under way when the partition stalls ends at its timeout; the partition is read again after that.
    consumer = LongPollingConsumer({TP: [tombstone(0)]}, gives_up=True)
    dlq = HeldDeadLetters()
    dlq.failures.append(TopicAuthorizationFailedError())  # the first dead letter refused: the partition stalls

    async def scenario() -> None:
        await until(lambda: consumer.fetches >= 2)  # the next fetch went out while the poison record is sent
        consumer.logs[TP].append(record(1))
        await until(lambda: consumer.positions[TP] == 2)  # fetched, waiting behind the task
        dlq.release.set()

    arrival = asyncio.create_task(scenario())
    await harness.run_until(harness.runner(consumer, dlq), lambda: consumer.committed.get(TP) == 2)
    await arrival
    assert harness.applied == ["ev-0-1"]
    assert [headers["dlq_source_offset"] for _, headers in dlq.sent] == [b"0"]

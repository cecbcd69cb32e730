"""A consumer's lag per partition, as `poverty_consumer_lag{topic,partition}`: the records on the partition that are
not done yet, from the high watermark (the offset the next record written will get) down to the first record not
applied. That is the first record fetched and not yet applied, or, when none is pending, the consumer's position
(which a stalled partition has been rewound to).

Kafka returns the high watermark with every fetch, but nothing is fetched for a partition while its batch is retried
or while it is paused (stalled): the fetched high watermark would freeze, and the lag with it, just when records pile
up. So `refresh_every` also asks the brokers for the partitions' end offsets now and then (a ListOffsets request,
which leaves the consumer's positions alone) and reports against the newer of the two."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import IllegalStateError

from shared.metrics import CONSUMER_LAG

log = logging.getLogger(__name__)
POSITION_WAIT_S = 0.1  # a partition just assigned has no position until its offset is looked up: skip it this time
END_OFFSETS_WAIT_S = 5.0  # a refresh that gets no answer in this time (brokers away) is skipped


class ConsumerLag:
    """Sets the lag of the partitions assigned to `consumer`, and drops those no longer assigned."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer
        self._shown: set[TopicPartition] = set()
        self._first_not_done: dict[TopicPartition, int] = {}  # as of the last observation
        self._ends: dict[TopicPartition, int] = {}  # the end offsets last asked of the brokers

    async def observe(self, pending: Mapping[TopicPartition, Sequence[Any]] | None = None) -> None:
        """Update after a fetch (`pending`: the records fetched, by partition, not yet applied) or after the
        fetched records were applied and committed (nothing pending)."""
        assigned = set(self._consumer.assignment())
        self._forget_revoked(assigned)
        for tp in assigned:
            records = (pending or {}).get(tp)
            try:
                first_not_done = records[0].offset if records else await self._position(tp)
            except (TimeoutError, IllegalStateError):
                continue  # no position yet, or revoked meanwhile
            self._first_not_done[tp] = first_not_done
            self._show(tp)

    async def refresh(self) -> None:
        """Ask the brokers for the end offsets of the assigned partitions and report the lag against them."""
        assigned = set(self._consumer.assignment())
        self._forget_revoked(assigned)
        if not assigned:
            return
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a cancellation that arrives as its awaitable
        # completes, and the consumer that asked would then never stop.
        async with asyncio.timeout(END_OFFSETS_WAIT_S):
            ends = await self._consumer.end_offsets(list(assigned))
        for tp, end in ends.items():
            if tp in self._consumer.assignment():
                self._ends[tp] = max(end, self._ends.get(tp, end))
                self._show(tp)

    async def refresh_every(self, interval_s: float) -> None:
        """`refresh` every `interval_s` until cancelled; a refresh that fails (brokers away) is skipped."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the fetch loop reports the brokers' absence; this one only waits for them
                log.debug("consumer lag not refreshed", extra={"error_type": type(exc).__name__})

    def _show(self, tp: TopicPartition) -> None:
        fetched = self._consumer.highwater(tp)
        known = [end for end in (fetched, self._ends.get(tp)) if end is not None]
        first_not_done = self._first_not_done.get(tp)
        if not known or first_not_done is None:
            return  # not fetched nor asked yet, or no position yet
        CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(max(known) - first_not_done, 0))
        self._shown.add(tp)

    def _forget_revoked(self, assigned: set[TopicPartition]) -> None:
        for tp in self._shown - assigned:
            CONSUMER_LAG.remove(tp.topic, str(tp.partition))
        self._shown &= assigned
        for known in (self._first_not_done, self._ends):
            for tp in set(known) - assigned:
                del known[tp]

    async def _position(self, tp: TopicPartition) -> int:
        async with asyncio.timeout(POSITION_WAIT_S):  # not wait_for: see `refresh`
            position: int = await self._consumer.position(tp)
        return position

"""A consumer's lag per partition, as `poverty_consumer_lag{topic,partition}`: the records on the partition that are
not done yet, from the high watermark (the offset the next record written will get, as of the last fetch) down to
the first record not applied. That is the first record fetched and not yet applied, or, when none is pending, the
consumer's position (which a stalled partition has been rewound to). No network call: Kafka returns the high
watermark with every fetch, and the position is the client's own."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import IllegalStateError

from shared.metrics import CONSUMER_LAG

POSITION_WAIT_S = 0.1  # a partition just assigned has no position until its offset is looked up: skip it this time


class ConsumerLag:
    """Sets the lag of the partitions assigned to `consumer`, and drops those no longer assigned."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer
        self._shown: set[TopicPartition] = set()

    async def observe(self, pending: Mapping[TopicPartition, Sequence[Any]] | None = None) -> None:
        """Update after a fetch (`pending`: the records fetched, by partition, not yet applied) or after the
        fetched records were applied and committed (nothing pending)."""
        assigned = set(self._consumer.assignment())
        for tp in self._shown - assigned:
            CONSUMER_LAG.remove(tp.topic, str(tp.partition))
        self._shown &= assigned
        for tp in assigned:
            highwater = self._consumer.highwater(tp)
            if highwater is None:
                continue  # not fetched yet
            records = (pending or {}).get(tp)
            try:
                first_not_done = records[0].offset if records else await self._position(tp)
            except (TimeoutError, IllegalStateError):
                continue  # no position yet, or revoked meanwhile
            CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(highwater - first_not_done, 0))
            self._shown.add(tp)

    async def _position(self, tp: TopicPartition) -> int:
        position: int = await asyncio.wait_for(self._consumer.position(tp), POSITION_WAIT_S)
        return position

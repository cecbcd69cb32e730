"""A stand-in for the platform's Kafka producer in unit tests, with the calls the outbox relay makes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka.errors import KafkaError, OutOfOrderSequenceNumber

Headers = list[tuple[str, bytes]]


@dataclass
class FakeBatch:
    """A record batch that holds at most `capacity` records (one by default: each row is a batch of its own)."""

    capacity: int
    records: list[tuple[bytes, bytes, Headers]] = field(default_factory=list)
    closed: bool = False

    def append(self, *, timestamp: None, key: bytes, value: bytes, headers: Headers) -> object | None:
        if self.closed or len(self.records) >= self.capacity:
            return None
        self.records.append((key, value, headers))
        return object()

    def close(self) -> None:
        self.closed = True


@dataclass(frozen=True)
class Written:
    """Where a batch went: aiokafka's RecordMetadata of its first record, as far as the relay reads it."""

    partition: int
    offset: int


class FakeProducer:
    """Acknowledges every batch, except one holding a record that `fails` picks (by value), which fails with what it
    returns; as the idempotent producer, every later batch of that partition then fails too (the failed batch left a
    gap in its sequence numbers) until the producer is replaced. Answers come on the event loop's next turn, or
    `answer_after_s` later (a broker's round trip), and the producer keeps what it acknowledged (values and headers,
    in order)."""

    def __init__(
        self,
        fails: Callable[[bytes], KafkaError | None] = lambda _: None,
        *,
        partitions: int = 3,
        capacity: int = 1,
        answer_after_s: float = 0.0,
    ) -> None:
        self.fails, self.partitions, self.capacity, self.answer_after_s = fails, partitions, capacity, answer_after_s
        self.sent: list[bytes] = []
        self.headers: list[dict[str, bytes]] = []
        self.started = self.stopped = False
        self._offsets = dict.fromkeys(range(partitions), 0)
        self._gaps: set[int] = set()

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(self.partitions))

    def create_batch(self) -> FakeBatch:
        return FakeBatch(self.capacity)

    async def send_batch(self, batch: FakeBatch, topic: str, *, partition: int) -> asyncio.Future[Any]:
        await asyncio.sleep(0)  # the producer's own awaits (metadata, a free slot) let earlier answers in
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        error = next((e for _, value, _ in batch.records if (e := self.fails(value)) is not None), None)
        if error is None and partition in self._gaps:
            error = OutOfOrderSequenceNumber()
        if error is not None:
            self._gaps.add(partition)
            self._answer(future.set_exception, error)
            return future
        self.sent.extend(value for _, value, _ in batch.records)
        self.headers.extend(dict(headers) for _, _, headers in batch.records)
        self._answer(future.set_result, Written(partition, self._offsets[partition]))
        self._offsets[partition] += len(batch.records)
        return future

    def _answer(self, answer: Callable[[Any], None], outcome: Any) -> None:
        asyncio.get_running_loop().call_later(self.answer_after_s, answer, outcome)

"""`replay-dlq` on a real broker: it replays what the dead-letter topic held when it started, and stops there even
when the records it replays are dead-lettered again while it runs (the cause not fixed after all)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

import shared.messaging.dlq
import shared.messaging.kafka
from shared.contracts import dead_letter_topic
from shared.messaging.dlq import replay
from shared.messaging.kafka import ensure_topics, make_producer
from tests.kafka_support import read_until

pytestmark = pytest.mark.integration
DEAD_LETTERS = 7


class DeadLetteredAgain:
    """The replay's producer, where every record replayed to the source topic is at once dead-lettered again, as a
    consumer still failing on it would do: before the replay's next step, so the race is lost every time."""

    def __init__(self, real: AIOKafkaProducer, dlq: str) -> None:
        self._real, self._dlq = real, dlq

    async def start(self) -> None:
        await self._real.start()

    async def stop(self) -> None:
        await self._real.stop()

    async def send(self, topic: str, value: bytes | None, *, key: bytes | None, headers: Any) -> Any:
        sent = await self._real.send(topic, value, key=key, headers=headers)
        await self._real.send_and_wait(self._dlq, value, key=key, headers=[*headers, ("dlq_attempts", b"1")])
        return sent


async def test_replay_stops_at_the_dead_letters_there_when_it_started(
    kafka: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = f"replay-{uuid.uuid4().hex[:8]}"
    dlq = dead_letter_topic(source)
    await ensure_topics(kafka, [source, dlq], partitions=2)
    producer = make_producer(kafka, client_id="replay-test")
    await producer.start()
    try:
        for n in range(DEAD_LETTERS):
            await producer.send_and_wait(dlq, f"dead-{n}".encode(), key=f"k{n}".encode(), headers=[])
    finally:
        await producer.stop()
    make = shared.messaging.kafka.make_producer
    monkeypatch.setattr(
        shared.messaging.dlq, "make_producer", lambda *args, **kwargs: DeadLetteredAgain(make(*args, **kwargs), dlq)
    )
    group = f"{source}-replay"

    assert await replay(dlq, bootstrap_servers=kafka, group_id=group) == DEAD_LETTERS
    replayed = await read_until(kafka, source, lambda records: len(records) >= DEAD_LETTERS, settle=0.5)
    assert sorted(r.value for r in replayed) == sorted(f"dead-{n}".encode() for n in range(DEAD_LETTERS))
    # The records dead-lettered again wait for the next replay, which takes exactly those.
    await read_until(kafka, dlq, lambda records: len(records) == 2 * DEAD_LETTERS)
    assert await replay(dlq, bootstrap_servers=kafka, group_id=group) == DEAD_LETTERS


async def test_replaying_an_empty_dead_letter_topic_replays_nothing(kafka: str) -> None:
    source = f"replay-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka, [source, dead_letter_topic(source)], partitions=1)
    assert await replay(dead_letter_topic(source), bootstrap_servers=kafka, group_id=f"{source}-replay") == 0

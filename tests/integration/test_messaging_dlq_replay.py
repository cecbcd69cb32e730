"""`replay-dlq` on a real broker: it replays what the dead-letter topic held when it started, and stops there even
when the records it replays are dead-lettered again while it runs (the cause not fixed after all); it never puts
back a record that is still poison, and a selective replay takes only what it was asked for."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

import shared.messaging.dlq
import shared.messaging.kafka
from shared.contracts import dead_letter_topic
from shared.messaging.dlq import Selection, replay
from shared.messaging.kafka import ensure_topics, make_producer
from tests.kafka_support import read_until
from tests.support import envelope_of, household_problem

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
        for value, key, headers in map(_dead_letter, range(DEAD_LETTERS)):
            await producer.send_and_wait(dlq, value, key=key, headers=headers)
    finally:
        await producer.stop()
    make = shared.messaging.kafka.make_producer
    monkeypatch.setattr(
        shared.messaging.dlq, "make_producer", lambda *args, **kwargs: DeadLetteredAgain(make(*args, **kwargs), dlq)
    )
    group = f"{source}-replay"

    assert (await replay(dlq, bootstrap_servers=kafka, group_id=group)).replayed == DEAD_LETTERS
    replayed = await read_until(kafka, source, lambda records: len(records) >= DEAD_LETTERS, settle=0.5)
    assert sorted(r.key for r in replayed) == sorted(f"k{n}".encode() for n in range(DEAD_LETTERS))
    # The records dead-lettered again wait for the next replay, which takes exactly those.
    await read_until(kafka, dlq, lambda records: len(records) == 2 * DEAD_LETTERS)
    assert (await replay(dlq, bootstrap_servers=kafka, group_id=group)).replayed == DEAD_LETTERS


async def test_replaying_an_empty_dead_letter_topic_replays_nothing(kafka: str) -> None:
    source = f"replay-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka, [source, dead_letter_topic(source)], partitions=1)
    report = await replay(dead_letter_topic(source), bootstrap_servers=kafka, group_id=f"{source}-replay")
    assert (report.replayed, report.still_poison) == (0, [])


def _dead_letter(n: int) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """A readable event dead-lettered for a cause since fixed: its value, key and headers."""
    env = envelope_of(household_problem(uuid.UUID(int=n + 1)))
    return env.data, f"k{n}".encode(), [*env.to_headers(), ("dlq_attempts", b"5")]


async def test_records_still_poison_are_reported_and_left_and_a_selection_takes_only_its_own(kafka: str) -> None:
    source = f"replay-{uuid.uuid4().hex[:8]}"
    dlq = dead_letter_topic(source)
    await ensure_topics(kafka, [source, dlq], partitions=1)
    readable = [_dead_letter(n) for n in range(4)]
    producer = make_producer(kafka, client_id="replay-test")
    await producer.start()
    try:
        for value, key, headers in readable[:2]:
            await producer.send_and_wait(dlq, value, key=key, headers=headers)
        await producer.send_and_wait(dlq, b"\xff not an event", key=b"p", headers=[("dlq_attempts", b"1")])  # offset 2
        await producer.send_and_wait(dlq, b'{"household_id": 5}', key=b"q", headers=readable[2][2])  # offset 3
        for value, key, headers in readable[3:]:
            await producer.send_and_wait(dlq, value, key=key, headers=headers)  # offset 4
    finally:
        await producer.stop()
    picked = Selection(partition=0, first_offset=1, last_offset=3)
    chosen = await replay(dlq, bootstrap_servers=kafka, group_id=f"{source}-replay", selection=picked)
    assert chosen.replayed == 1 and [p.split(" ")[0] for p in chosen.still_poison] == ["0:2", "0:3"]
    first = await read_until(kafka, source, lambda records: len(records) >= 1, settle=0.5)
    assert [r.value for r in first] == [readable[1][0]]
    # A selective replay remembers nothing: the whole replay after it still takes every readable record, once.
    everything = await replay(dlq, bootstrap_servers=kafka, group_id=f"{source}-replay")
    assert everything.replayed == 3 and len(everything.still_poison) == 2
    by_id = dict(readable[3][2])["ce_id"].decode()
    one = await replay(dlq, bootstrap_servers=kafka, group_id=f"{source}-x", selection=Selection(event_id=by_id))
    assert (one.replayed, one.still_poison) == (1, [])

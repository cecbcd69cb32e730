"""A consumer or relay asked to stop stops: a cancellation that arrives just as one of their awaits completes is not
lost (Python 3.11's `asyncio.wait_for` returns the result instead, and the loop around it goes on for ever)."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import TopicPartition

from shared.messaging.lag import ConsumerLag
from shared.messaging.outbox import OutboxSignal

TP = TopicPartition("households.events", 0)


class SlowPosition:
    """A consumer whose position is answered when the test says so."""

    def __init__(self) -> None:
        self.answer = asyncio.Event()

    async def position(self, tp: TopicPartition) -> int:
        await self.answer.wait()
        return 7


async def test_a_cancellation_arriving_as_the_position_is_answered_stops_the_caller() -> None:
    consumer = SlowPosition()
    asking = asyncio.create_task(ConsumerLag(consumer)._position(TP))  # type: ignore[arg-type]
    await asyncio.sleep(0)  # waiting for the answer
    consumer.answer.set()  # the answer and the cancellation in the same turn of the loop
    asking.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asking


async def test_a_cancellation_arriving_as_the_relay_is_woken_stops_it() -> None:
    signal = OutboxSignal()
    waiting = asyncio.create_task(signal.wait(60))
    await asyncio.sleep(0)
    signal.set()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting

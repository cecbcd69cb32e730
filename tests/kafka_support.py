"""Reading topics in tests: everything from the beginning until a condition holds or time runs out."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from shared.messaging.kafka import KafkaSecurity, ensure_topics, make_consumer, make_producer

Records = list[ConsumerRecord[bytes, bytes]]
SASL_USER, SASL_PASSWORD = "platform", "sasl-test-password"


def ce_id(record: ConsumerRecord[bytes, bytes]) -> str:
    return dict(record.headers).get("ce_id", b"").decode()


async def read_until(
    bootstrap: str, topic: str, done: Callable[[Records], bool], *, timeout: float = 20.0, settle: float = 0.0
) -> Records:
    """All records of `topic` from the start, once `done(records)` holds (then `settle` s more for stragglers)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    records: Records = []
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
            if done(records):
                break
        else:
            raise AssertionError(f"condition not met on {topic} within {timeout}s; {len(records)} records read")
        if settle:
            await asyncio.sleep(settle)
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


async def eventually(check: Callable[[], object], *, timeout: float = 15.0, interval: float = 0.1) -> object:
    """Poll `check` (plain or async) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s: last result {result!r}")
        await asyncio.sleep(interval)


async def round_trip(
    bootstrap: str, security: KafkaSecurity, value: bytes, *, topic: str, timeout_s: int = 30
) -> Records:
    """Publish `value` to a new `topic` with the platform's producer and read it back with its consumer, both
    connecting with `security`; returns what was read."""
    await ensure_topics(bootstrap, [topic], security=security)
    producer = make_producer(bootstrap, client_id=f"{topic}-producer", security=security)
    consumer = make_consumer(bootstrap, group_id=f"{topic}-reader", topics=[topic], security=security)
    await producer.start()
    await consumer.start()
    try:
        await producer.send_and_wait(topic, value, key=b"k")
        received: Records = []
        for _ in range(timeout_s):
            received += [r for records in (await consumer.getmany(timeout_ms=1000)).values() for r in records]
            if received:
                break
        return received
    finally:
        await consumer.stop()
        await producer.stop()

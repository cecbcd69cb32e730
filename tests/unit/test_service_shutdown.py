"""A service's shutdown runs every step: a step whose own work was cancelled (a Kafka client's task cancelled under
it after an outage) is logged and passed; only the shutdown being cancelled itself stops it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from shared.service import ServiceRuntime, ServiceSpec
from shared.settings import ServiceSettings
from tests.producer_fakes import FakeProducer


class CancelledConsumer:
    """As aiokafka's consumer after an outage: its fetcher's task was cancelled, and `stop()` raises that."""

    async def stop(self) -> None:
        raise asyncio.CancelledError


class StoppedProducer(FakeProducer):
    stopped = False

    async def stop(self) -> None:
        self.stopped = True


async def runtime_with(url: str) -> tuple[ServiceRuntime, StoppedProducer]:
    settings = ServiceSettings(database_url=url, kafka_enabled=False, metrics_port=0)
    runtime = ServiceRuntime(ServiceSpec(name="t", title="t", settings=settings, routers=[]))
    unstarted, producer = runtime.producers.current, StoppedProducer()
    runtime.producers.current = producer
    await unstarted.stop()
    runtime.consumer = CancelledConsumer()
    return runtime, producer


async def test_a_step_cancelled_from_within_does_not_skip_the_next(
    sqlite_url: Callable[[str], Awaitable[str]], caplog: pytest.LogCaptureFixture
) -> None:
    runtime, producer = await runtime_with(await sqlite_url("households"))
    await asyncio.wait_for(runtime.stop(), 5)
    assert producer.stopped
    assert [getattr(r, "step", None) for r in caplog.records if r.msg == "shutdown step failed or timed out"] == [
        "kafka consumer"
    ]


async def test_a_shutdown_cancelled_itself_stops(sqlite_url: Callable[[str], Awaitable[str]]) -> None:
    runtime, producer = await runtime_with(await sqlite_url("households"))
    started = asyncio.Event()

    async def hangs() -> Any:
        started.set()
        await asyncio.Event().wait()

    runtime.consumer.stop = hangs  # type: ignore[union-attr]
    stopping = asyncio.create_task(runtime.stop())
    await started.wait()
    stopping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopping
    assert not producer.stopped

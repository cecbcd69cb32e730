"""The relay survives a producer that failed for good, marks what Kafka acknowledged, and the service stops in time."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial

import pytest
from aiokafka.errors import KafkaError, NotLeaderForPartitionError, OutOfOrderSequenceNumber
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col

import shared.service
from shared.contracts.households import HouseholdRegistered
from shared.db import create_engine, unit_of_work
from shared.messaging.kafka import SharedProducer
from shared.messaging.outbox import OutboxMessage, OutboxSignal, record_event, session_info
from shared.messaging.relay import OutboxRelay
from shared.service import ServiceRuntime, ServiceSpec
from shared.settings import ServiceSettings
from tests.producer_fakes import FakeProducer


class Outbox:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine, self.signal = engine, OutboxSignal()
        self.sessions = async_sessionmaker(engine, expire_on_commit=False, info=session_info(self.signal))

    async def commit_events(self, n: int) -> None:
        async with unit_of_work(self.sessions) as session:
            for i in range(n):
                event = HouseholdRegistered(
                    household_id=uuid.uuid4(), household_code=f"T-{i}", area_code="371523101201", member_count=i + 1
                )
                record_event(session, event, source="/tests")

    async def unpublished(self) -> list[int]:
        unpublished = select(col(OutboxMessage.id)).where(col(OutboxMessage.published_at).is_(None))
        async with self.sessions() as s:
            return list(await s.scalars(unpublished))

    def relay(self, producer: SharedProducer) -> OutboxRelay:
        return OutboxRelay(engine=self.engine, producer=producer, signal=self.signal)


@pytest.fixture
async def outbox(sqlite_url: Callable[[str], Awaitable[str]]) -> AsyncIterator[Outbox]:
    engine = create_engine(await sqlite_url("households"))
    yield Outbox(engine)
    await engine.dispose()


async def test_a_producer_that_failed_for_good_is_replaced_before_the_next_attempt(outbox: Outbox) -> None:
    # After an expired batch an idempotent producer fails every later send to that partition.
    made = [FakeProducer(lambda _: OutOfOrderSequenceNumber()), FakeProducer()]
    producers = SharedProducer(iter(made).__next__)
    await producers.start()
    await outbox.commit_events(3)
    relay = outbox.relay(producers)
    with pytest.raises(OutOfOrderSequenceNumber):
        await relay.publish_pending()
    assert producers.current is made[1] and made[1].started and made[0].stopped
    assert await relay.publish_pending() == 3
    assert await outbox.unpublished() == []


async def test_the_rows_kafka_acknowledged_are_marked_even_when_others_failed(outbox: Outbox) -> None:
    await outbox.commit_events(3)
    failing = {b'"household_code":"T-1"'}
    # One partition: the row after the failed one fails behind it (the idempotent producer's sequence gap).
    fails = partial(_not_leader_for, failing)
    made = [FakeProducer(fails, partitions=1), FakeProducer()]
    producers = SharedProducer(iter(made).__next__)
    relay = outbox.relay(producers)
    with pytest.raises(NotLeaderForPartitionError):
        await relay.publish_pending()
    assert len(await outbox.unpublished()) == 2 and len(made[0].sent) == 1
    assert producers.current is made[0]  # a retriable failure keeps the producer
    failing.clear()
    with pytest.raises(OutOfOrderSequenceNumber):  # until it is replaced, as a real idempotent producer
        await relay.publish_pending()
    assert await relay.publish_pending() == 2
    assert await outbox.unpublished() == []


def _not_leader_for(failing: set[bytes], value: bytes) -> KafkaError | None:
    return NotLeaderForPartitionError() if any(f in value for f in failing) else None


class HangingProducer(FakeProducer):
    async def stop(self) -> None:
        await asyncio.Event().wait()  # pending batches for a broker that is gone never expire


async def test_shutdown_is_bounded_and_releases_the_database(
    sqlite_url: Callable[[str], Awaitable[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shared.service, "SHUTDOWN_STEP_TIMEOUT_S", 0.2)
    settings = ServiceSettings(database_url=await sqlite_url("households"), kafka_enabled=False, metrics_port=0)
    runtime = ServiceRuntime(ServiceSpec(name="t", title="t", settings=settings, routers=[]))
    unstarted, runtime.producers.current = runtime.producers.current, HangingProducer()
    await unstarted.stop()
    runtime.engine = spy = DisposalSpy(runtime.engine)  # type: ignore[assignment]
    await asyncio.wait_for(runtime.stop(), 5)
    assert spy.disposed


class DisposalSpy:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine, self.disposed = engine, False

    async def dispose(self) -> None:
        await self.engine.dispose()
        self.disposed = True

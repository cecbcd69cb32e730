"""The outbox on real PostgreSQL and real Kafka: nothing rolled back leaks, nothing committed is lost."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from shared.contracts import HOUSEHOLDS_TOPIC
from shared.contracts.households import HouseholdRegistered
from shared.db import create_engine, unit_of_work
from shared.messaging.kafka import SharedProducer, ensure_topics, make_producer
from shared.messaging.outbox import NOTIFY_CHANNEL, OutboxMessage, OutboxSignal, record_event, session_info
from shared.messaging.relay import OutboxRelay
from shared.timeutil import utcnow
from tests.kafka_support import ce_id, eventually, read_until
from tests.support import in_background

pytestmark = pytest.mark.integration


class Outbox:
    """An outbox-carrying database (the households schema) with a relay wired to a real producer."""

    def __init__(self, engine: AsyncEngine, producer: SharedProducer, poll_interval_s: float = 30.0) -> None:
        self.engine, self.producer, self.signal = engine, producer, OutboxSignal()
        self.sessions: async_sessionmaker[AsyncSession] = async_sessionmaker(
            engine, expire_on_commit=False, info=session_info(self.signal)
        )
        self.poll_interval_s = poll_interval_s

    def relay(self, batch_size: int = 500) -> OutboxRelay:
        return OutboxRelay(
            engine=self.engine,
            producer=self.producer,
            signal=self.signal,
            batch_size=batch_size,
            poll_interval_s=self.poll_interval_s,
            standby_interval_s=0.2,
        )

    async def commit_event(self, household_id: uuid.UUID | None = None, n: int = 1) -> str:
        async with unit_of_work(self.sessions) as session:
            row = record_event(session, _event(household_id or uuid.uuid4(), n), source="/tests")
        return row["event_id"]

    async def unpublished(self) -> int:
        """Counted on a connection of its own: after a test cuts every connection, a pooled one can still be
        winding down (asyncpg consuming the server's goodbye) when handed out, and the observer is not under test."""
        observer = create_async_engine(self.engine.url, poolclass=NullPool)
        try:
            async with observer.connect() as conn:
                stmt = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.published_at.is_(None))  # type: ignore[union-attr]
                return int(await conn.scalar(stmt) or 0)
        finally:
            await observer.dispose()

    async def all_marked(self, timeout: float = 10.0) -> bool:
        """Whether every row is marked published within `timeout` s (the relay marks a row just after
        Kafka acknowledged it, so a reader may see the record a moment before the mark commits)."""
        for _ in range(int(timeout / 0.1)):
            if not await self.unpublished():
                return True
            await asyncio.sleep(0.1)
        return False


def _event(household_id: uuid.UUID, n: int = 1) -> HouseholdRegistered:
    return HouseholdRegistered(
        household_id=household_id, household_code=f"T-{n}", area_code="371523101201", member_count=n
    )


@pytest.fixture
async def outbox(kafka: str, pg_database: Any) -> AsyncIterator[Outbox]:
    await ensure_topics(kafka, [HOUSEHOLDS_TOPIC])
    engine = create_engine(await pg_database("households"))
    producer = SharedProducer(lambda: make_producer(kafka, client_id="test-relay"))
    await producer.start()
    try:
        yield Outbox(engine, producer)
    finally:
        await producer.stop()
        await engine.dispose()


async def test_rolled_back_transaction_publishes_nothing(outbox: Outbox, kafka: str) -> None:
    rolled_back: list[str] = []
    with pytest.raises(RuntimeError):
        async with unit_of_work(outbox.sessions) as session:
            rolled_back.append((record_event(session, _event(uuid.uuid4()), source="/tests"))["event_id"])
            raise RuntimeError("business rule failed after the event was written")
    marker = await outbox.commit_event()
    assert await outbox.relay().publish_pending() == 1
    records = await read_until(kafka, HOUSEHOLDS_TOPIC, lambda rs: marker in map(ce_id, rs), settle=0.5)
    assert rolled_back[0] not in map(ce_id, records)
    async with outbox.sessions() as s:
        assert (await s.scalars(select(OutboxMessage.event_id))).all() == [marker]


async def test_crash_between_publish_and_mark_republishes_the_same_events(
    outbox: Outbox, kafka: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [await outbox.commit_event() for _ in range(3)]
    crashing = outbox.relay()

    async def die(_ids: list[int]) -> None:
        raise RuntimeError("process killed before marking")

    monkeypatch.setattr(crashing, "_mark_published", die)
    with pytest.raises(RuntimeError):
        await crashing.publish_pending()
    assert await outbox.unpublished() == 3
    assert await outbox.relay().publish_pending() == 3
    assert await outbox.unpublished() == 0
    records = await read_until(kafka, HOUSEHOLDS_TOPIC, lambda rs: sum(ce_id(r) in ids for r in rs) >= 6)
    assert sorted(ce_id(r) for r in records if ce_id(r) in ids) == sorted(ids * 2)


async def test_order_per_key_is_kept(outbox: Outbox, kafka: str) -> None:
    household = uuid.uuid4()
    ids = [await outbox.commit_event(household, n) for n in range(1, 41)]
    async with in_background(outbox.relay().run()):
        records = await read_until(kafka, HOUSEHOLDS_TOPIC, lambda rs: sum(ce_id(r) in ids for r in rs) >= 40)
    mine = [r for r in records if r.key == str(household).encode()]
    assert [ce_id(r) for r in mine] == ids
    assert len({r.partition for r in mine}) == 1


async def test_commit_wakes_the_relay_without_waiting_for_the_poll(outbox: Outbox, kafka: str) -> None:
    async with in_background(outbox.relay().run()):
        await asyncio.sleep(0.5)  # the relay is idle, waiting on a 30 s fallback poll
        started = time.monotonic()
        event_id = await outbox.commit_event()
        await read_until(kafka, HOUSEHOLDS_TOPIC, lambda rs: event_id in map(ce_id, rs), timeout=10)
    assert time.monotonic() - started < 10


async def test_commit_in_another_process_wakes_the_relay_through_notify(outbox: Outbox, kafka: str) -> None:
    other_replica = async_sessionmaker(outbox.engine, expire_on_commit=False)  # no in-process signal
    async with in_background(outbox.relay().run()):
        await asyncio.sleep(0.5)
        async with unit_of_work(other_replica) as session:
            event_id = (record_event(session, _event(uuid.uuid4()), source="/tests"))["event_id"]
        await read_until(kafka, HOUSEHOLDS_TOPIC, lambda rs: event_id in map(ce_id, rs), timeout=10)


async def test_a_commit_beside_the_leading_relay_wakes_it_in_process_without_a_notify(
    outbox: Outbox, kafka: str
) -> None:
    heard: list[str] = []
    url = outbox.engine.url
    listener = await asyncpg.connect(
        user=url.username, password=url.password, host=url.host, port=url.port, database=url.database
    )
    await listener.add_listener(NOTIFY_CHANNEL, lambda *notification: heard.append(notification[2]))
    relay = outbox.relay()
    try:
        async with in_background(relay.run()):
            await eventually(lambda: relay.is_leader)
            here = await outbox.commit_event()
            await read_until(kafka, HOUSEHOLDS_TOPIC, lambda rs: here in map(ce_id, rs), timeout=10)  # poll: 30 s
            elsewhere = async_sessionmaker(outbox.engine, expire_on_commit=False)  # another replica: no signal
            async with unit_of_work(elsewhere) as session:
                record_event(session, _event(uuid.uuid4()), source="/tests")
            await eventually(lambda: heard, timeout=5)
            assert heard == [NOTIFY_CHANNEL]  # the other replica's commit only
        await outbox.commit_event()  # this process's relay no longer leads: another process's must be woken
        await eventually(lambda: len(heard) == 2, timeout=5)
    finally:
        await listener.close()


async def test_only_one_of_several_relays_publishes(outbox: Outbox) -> None:
    relays = [outbox.relay() for _ in range(3)]
    async with in_background(relays[0].run()), in_background(relays[1].run()), in_background(relays[2].run()):
        await asyncio.sleep(1.0)
        assert sum(r.is_leader for r in relays) == 1
        leader = next(r for r in relays if r.is_leader)
    assert leader is not None


async def test_a_leader_whose_lock_died_with_the_database_stops_before_draining_its_backlog(
    outbox: Outbox, kafka: str
) -> None:
    topic = f"relay-failover-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka, [topic])
    rows = 3_000
    async with outbox.engine.begin() as conn:
        await conn.execute(insert(OutboxMessage), [_backlog_row(topic, n) for n in range(rows)])
    batch = 100
    first, second = outbox.relay(batch), outbox.relay(batch)
    async with in_background(first.run()):
        await eventually(lambda: first.is_leader)
        async with in_background(second.run()):
            await _restart_as_clients_see_it(outbox.engine)  # every connection cut: the lock goes with its own
            assert await outbox.all_marked(timeout=60)
    records = await read_until(kafka, topic, lambda rs: len({ce_id(r) for r in rs}) >= rows, settle=1.0)
    twice = len(records) - len({ce_id(r) for r in records})
    assert twice <= 2 * batch, twice  # at most a batch in flight each; before, the rest of the backlog


def _backlog_row(topic: str, n: int) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "topic": topic,
        "key": str(n % 20),
        "event_type": HouseholdRegistered.event_type,
        "source": "/tests",
        "occurred_at": utcnow(),
        "payload": _event(uuid.uuid4(), n + 1).model_dump_json(),
    }


async def _restart_as_clients_see_it(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        everyone_else = "pid <> pg_backend_pid() AND datname = current_database()"
        await conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {everyone_else}"))

"""Metrics on a real broker and PostgreSQL, read from the metrics port: events counted by outcome, the consumer's lag
rising and falling back to 0; and a broker outage that leaves the service ready while its outbox backlog grows,
then drains."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import shared.health
import shared.messaging.backlog
from shared.contracts import dead_letter_topic
from shared.contracts.households import HouseholdProblemFound, HouseholdRegistered
from shared.db import create_engine, unit_of_work
from shared.local.kafka import LocalKafka, free_port
from shared.messaging.cloudevents import Envelope
from shared.messaging.consumer import ConsumerRunner
from shared.messaging.handlers import HandlerRegistry
from shared.messaging.kafka import ensure_topics, make_consumer, make_producer
from shared.messaging.outbox import record_event
from shared.metrics import MetricsServer
from tests.kafka_support import read_until
from tests.metrics_support import Scrape, metrics_url, scraped_until
from tests.support import running_app

pytestmark = pytest.mark.integration
EVENT_TYPE = HouseholdProblemFound.event_type


@contextlib.contextmanager
def metrics_port() -> Any:
    """The process's metrics served on a free port for the test."""
    port = free_port()
    server = MetricsServer("127.0.0.1", port)
    server.start()
    try:
        yield metrics_url(port)
    finally:
        server.stop()


async def send(producer: AIOKafkaProducer, topic: str, event_id: str) -> None:
    env = Envelope(id=event_id, type=EVENT_TYPE, source="/tests", subject="k", time=datetime.now(UTC), data=b"{}")
    await producer.send_and_wait(topic, env.data, key=b"k", headers=env.to_headers())


@contextlib.asynccontextmanager
async def consuming(
    kafka: str, topic: str, handlers: HandlerRegistry, database_url: str, *, lag_refresh_s: float | None = None
) -> AsyncIterator[None]:
    """A consumer runner of `topic` (its own group), dead-lettering through a real producer."""
    engine = create_engine(database_url)
    producer = make_producer(kafka, client_id=f"{topic}-dlq")
    consumer = make_consumer(kafka, group_id=topic, topics=[topic])
    await producer.start()
    await consumer.start()
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    runner = ConsumerRunner(
        name=topic, handlers=handlers, sessions=sessions, consumer=consumer, dlq_producer=producer,
        max_attempts=3, backoff_s=0.05,
    )  # fmt: skip
    if lag_refresh_s is not None:
        runner.lag_refresh_s = lag_refresh_s
    task = asyncio.create_task(runner.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await consumer.stop()
        await producer.stop()
        await engine.dispose()


async def test_events_are_counted_by_outcome_and_the_lag_falls_to_zero(kafka: str, pg_database: Any) -> None:
    topic = f"metrics-{uuid.uuid4().hex[:8]}"  # a topic of its own: its label counts only this test's events
    await ensure_topics(kafka, [topic, dead_letter_topic(topic)], partitions=1)
    producer = make_producer(kafka, client_id="metrics-test")
    await producer.start()
    try:
        for event_id in ("a", "a", "poison", "b"):  # "a" delivered twice, as after a relay crash
            await send(producer, topic, event_id)
    finally:
        await producer.stop()
    entered, release = asyncio.Event(), asyncio.Event()
    handlers = HandlerRegistry()

    @handlers.observe(topic)
    async def apply(session: AsyncSession, env: Envelope, topic: str) -> None:
        entered.set()
        await release.wait()
        if env.id == "poison":
            raise ValueError("a handler that keeps failing")

    def consumed(s: Scrape, outcome: str) -> float:
        return s.value("poverty_events_consumed_total", topic=topic, type=EVENT_TYPE, outcome=outcome)

    with metrics_port() as url:
        async with consuming(kafka, topic, handlers, await pg_database("audit")):
            await asyncio.wait_for(entered.wait(), 30)
            lagging = await scraped_until(url, lambda s: s.value("poverty_consumer_lag", topic=topic) > 0)
            release.set()
            done = await scraped_until(
                url,
                lambda s: consumed(s, "dead_lettered") == 1 and s.value("poverty_consumer_lag", topic=topic) == 0,
            )
    assert lagging.value("poverty_consumer_lag", topic=topic, partition="0") == 4  # fetched, none applied yet
    outcomes = ("applied", "duplicate", "retried", "dead_lettered", "failed")
    assert {o: consumed(done, o) for o in outcomes} == {
        "applied": 2,
        "duplicate": 1,
        "retried": 2,  # "poison" failed 3 times in all, then was dead-lettered
        "dead_lettered": 1,
        "failed": 0,
    }
    assert done.value("poverty_dead_letters_total", topic=topic) == 1
    assert done.value("poverty_event_handling_seconds_count", topic=topic) == 3  # the transactions that committed
    await read_until(kafka, dead_letter_topic(topic), lambda records: len(records) == 1)


async def test_the_lag_keeps_rising_while_a_record_is_retried(kafka: str, pg_database: Any) -> None:
    """Nothing is fetched while a record's transient failure is retried (the partition waits on it), yet the records
    written meanwhile count: the lag is refreshed from the broker's end offsets."""
    topic = f"metrics-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka, [topic, dead_letter_topic(topic)], partitions=1)
    failing, fixed = asyncio.Event(), asyncio.Event()
    handlers = HandlerRegistry()

    @handlers.observe(topic)
    async def apply(session: AsyncSession, env: Envelope, topic: str) -> None:
        if env.id == "stuck" and not fixed.is_set():
            failing.set()
            raise ConnectionRefusedError("the database is away")  # transient: retried without limit

    producer = make_producer(kafka, client_id="metrics-lag-test")
    await producer.start()
    try:
        with metrics_port() as url:
            async with consuming(kafka, topic, handlers, await pg_database("audit"), lag_refresh_s=0.2):
                await send(producer, topic, "stuck")
                await asyncio.wait_for(failing.wait(), 30)
                for n in range(20):
                    await send(producer, topic, f"waiting-{n}")
                behind = await scraped_until(url, lambda s: s.value("poverty_consumer_lag", topic=topic) == 21)
                assert not fixed.is_set()  # still retrying the first record
                fixed.set()
                caught_up = await scraped_until(url, lambda s: s.value("poverty_consumer_lag", topic=topic) == 0)
    finally:
        await producer.stop()
    assert behind.value("poverty_consumer_lag", topic=topic, partition="0") == 21
    assert caught_up.value("poverty_events_consumed_total", topic=topic, type=EVENT_TYPE, outcome="applied") == 21


async def record_an_event(app: Any) -> None:
    async with unit_of_work(app.state.sessions) as session:
        event = HouseholdRegistered(
            household_id=uuid.uuid4(), household_code="OUTAGE-1", area_code="371523101201", member_count=1
        )
        record_event(session, event, source="/households")


async def test_a_broker_outage_leaves_the_service_ready_and_its_outbox_drains_after(
    tmp_path: Path, pg_database: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shared.messaging.backlog, "SAMPLE_INTERVAL_S", 0.2)
    monkeypatch.setattr(shared.health, "KAFKA_CHECK_INTERVAL_S", 0.5)
    broker, port = LocalKafka(data_dir=tmp_path / "kafka"), free_port()
    database = await pg_database("households")
    url = metrics_url(port)
    async with (
        broker,
        running_app(
            "households",
            database,
            kafka_enabled=True,
            kafka_bootstrap_servers=broker.bootstrap_servers,
            metrics_port=port,
        ) as (app, client),
    ):
        up = await scraped_until(
            url, lambda s: s.value("poverty_kafka_connected") == 1 and s.value("poverty_relay_leader") == 1, timeout=60
        )
        assert (await client.get("/readyz")).json()["checks"]["kafka"] == "ok"

        await asyncio.to_thread(broker.stop)
        await scraped_until(url, lambda s: s.value("poverty_kafka_connected") == 0, timeout=30)
        await record_an_event(app)
        during = await scraped_until(url, lambda s: s.value("poverty_outbox_backlog") == 1)
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "kafka": "degraded"}

        await asyncio.to_thread(broker.start)
        await broker.wait_ready_async()
        after = await scraped_until(
            url,
            lambda s: s.value("poverty_outbox_backlog") == 0 and s.value("poverty_kafka_connected") == 1,
            timeout=90,
        )
        assert (await client.get("/readyz")).json()["checks"]["kafka"] == "ok"
    assert during.value("poverty_outbox_oldest_unpublished_age_seconds") >= 0
    assert after.since(up, "poverty_outbox_published_total") >= 1
    assert after.value("poverty_outbox_oldest_unpublished_age_seconds") == 0

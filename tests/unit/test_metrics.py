"""The metrics a service exposes, read from its metrics port after known traffic, and readiness that means what
Kubernetes does with it (the database and migrations decide; Kafka is reported, never decisive)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import ConsumerRecord, TopicPartition
from prometheus_client import REGISTRY
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import HOUSEHOLDS_TOPIC
from shared.contracts.households import HouseholdProblemFound
from shared.db import create_engine, session_factory
from shared.local.kafka import free_port
from shared.messaging.backlog import outbox_backlog
from shared.messaging.cloudevents import Envelope
from shared.messaging.handlers import HandlerRegistry
from shared.messaging.kafka import SharedProducer
from shared.messaging.retention import RetentionPolicy, purge_expired
from shared.metrics import MetricsServer
from shared.service_index import settings_class
from shared.settings import ServiceSettings
from tests.metrics_support import metrics_url, scrape, scraped_until
from tests.support import apply_event, auth, envelope_of, household_problem, running_app, seed_messaging_rows
from tests.unit.test_messaging_consumer_failures import FakeConsumer, FakeDeadLetters, Harness, harness
from tests.unit.test_messaging_relay_recovery import FakeProducer, Outbox

SqliteUrl = Callable[[str], Awaitable[str]]
__all__ = ["harness"]  # the fixture, shared with the consumer's tests
HOUSEHOLD = "/v1/households/{household_id}"


async def test_http_requests_are_counted_by_route_template_method_and_status(sqlite_url: SqliteUrl) -> None:
    port = free_port()
    async with running_app("households", await sqlite_url("households"), metrics_port=port) as (_, client):
        before = await scrape(metrics_url(port))
        for _ in range(3):
            missing = await client.get(f"/v1/households/{uuid.uuid4()}", headers=auth("district_office"))
            assert missing.status_code == 404
        assert (await client.get("/v1/no-such-resource")).status_code == 404
        assert (await client.request("BREW", "/livez")).status_code == 405
        assert (await client.get("/livez")).status_code == 200
        after = await scrape(metrics_url(port))
    counted = "poverty_http_requests_total"
    assert after.since(before, counted, route=HOUSEHOLD, method="GET", status="404") == 3
    assert after.since(before, "poverty_http_request_duration_seconds_count", route=HOUSEHOLD, method="GET") == 3
    assert after.since(before, counted, route="unmatched", method="GET", status="404") == 1
    assert after.since(before, counted, method="other", status="405") == 1  # a client's method is no label value
    assert after.since(before, counted, route="/livez", method="GET", status="200") == 1
    assert not any(("method", "BREW") in labels for _, labels in after.samples)


async def test_metrics_are_served_on_their_own_port_never_on_the_api(sqlite_url: SqliteUrl) -> None:
    port = free_port()
    async with running_app("projects", await sqlite_url("projects"), metrics_port=port) as (_, client):
        assert (await client.get("/metrics")).status_code == 404
        scraped = await scrape(metrics_url(port))
    assert scraped.has("poverty_http_requests_total") and scraped.has("poverty_db_pool_size")
    with pytest.raises(httpx.ConnectError):
        await scrape(metrics_url(port))  # stopped with the service


async def test_services_of_one_process_share_a_metrics_port_and_0_serves_none() -> None:
    port = free_port()
    first, second, disabled = MetricsServer("127.0.0.1", port), MetricsServer("127.0.0.1", port), MetricsServer("", 0)
    first.start()
    second.start()
    disabled.start()
    try:
        first.stop()
        assert (await scrape(metrics_url(port))).has("poverty_kafka_connected")  # the second still uses it
    finally:
        second.stop()
        disabled.stop()
    with pytest.raises(httpx.ConnectError):
        await scrape(metrics_url(port))


def test_the_metrics_port_is_9100_by_default_and_never_the_api_port() -> None:
    assert ServiceSettings.model_fields["metrics_port"].default == 9100
    households = settings_class("households")
    assert households(database_url="sqlite://").metrics_port == 9100
    with pytest.raises(ValidationError, match="metrics_port"):
        households(database_url="sqlite://", metrics_port=8001)


async def test_readiness_reports_kafka_without_depending_on_it(sqlite_url: SqliteUrl) -> None:
    port, unreachable = free_port(), f"127.0.0.1:{free_port()}"
    url = await sqlite_url("subsidies")
    async with running_app(
        "subsidies", url, kafka_enabled=True, kafka_bootstrap_servers=unreachable, metrics_port=port
    ) as (_, client):
        ready = await client.get("/readyz")
        scraped = await scrape(metrics_url(port))
    assert ready.status_code == 200, ready.text
    checks = {"database": "ok", "migrations": "ok", "kafka": "degraded"}
    assert ready.json() == {"status": "ready", "checks": checks, "quarantined_records": 0}
    assert scraped.value("poverty_kafka_connected") == 0
    assert scraped.value("poverty_relay_leader") == 0  # no relay runs before Kafka is reached


async def test_readiness_fails_on_a_schema_not_at_head(tmp_path: object) -> None:
    async with running_app("audit", f"sqlite+aiosqlite:///{tmp_path}/empty.db") as (_, client):
        ready = await client.get("/readyz")
        alive = await client.get("/livez")
    assert ready.status_code == 503 and alive.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "migrations": "failing", "kafka": "disabled"}


async def test_the_pool_gauges_count_connections_in_use(sqlite_url: SqliteUrl) -> None:
    port = free_port()
    async with running_app("audit", await sqlite_url("audit"), metrics_port=port) as (app, _):
        engine = app.state.runtime.engine
        async with engine.connect() as a, engine.connect() as b, engine.connect() as c:
            for conn in (a, b, c):
                await conn.execute(text("SELECT 1"))
            busy = await scrape(metrics_url(port))
    # SQLite's default pool (5, and 10 more in overflow) twice: the writing and the reading engine.
    assert busy.value("poverty_db_pool_size") == 30
    assert busy.value("poverty_db_pool_checked_out") >= 3


async def test_the_outbox_backlog_counts_unpublished_rows_and_the_oldest_ones_age(sqlite_url: SqliteUrl) -> None:
    engine = create_engine(await sqlite_url("households"))
    now = datetime(2020, 6, 1, tzinfo=UTC)
    try:
        assert (await outbox_backlog(engine, now=now)).rows == 0
        await seed_messaging_rows(
            engine,
            {
                "published": (now - timedelta(hours=5), True),
                "oldest": (now - timedelta(minutes=3), False),
                "newest": (now - timedelta(seconds=1), False),
            },
        )
        backlog = await outbox_backlog(engine, now=now)
    finally:
        await engine.dispose()
    assert backlog.rows == 2 and backlog.oldest_age_s == 180.0


async def test_the_relay_is_the_leader_while_it_runs_on_sqlite(sqlite_url: SqliteUrl) -> None:
    outbox = Outbox(create_engine(await sqlite_url("households")))
    relay = outbox.relay(SharedProducer(FakeProducer))
    task = asyncio.create_task(relay.run())
    try:
        await outbox.commit_events(2)
        for _ in range(200):
            if not await outbox.unpublished():
                break
            await asyncio.sleep(0.02)
        assert await outbox.unpublished() == []
        assert REGISTRY.get_sample_value("poverty_relay_leader") == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await outbox.engine.dispose()
    assert REGISTRY.get_sample_value("poverty_relay_leader") == 0


def known(offset: int, event_id: str) -> ConsumerRecord[bytes, bytes]:
    """A record of a known event type on partition 0 of the households topic."""
    env = Envelope(
        id=event_id,
        type=HouseholdProblemFound.event_type,
        source="/t",
        subject="k",
        time=datetime.now(UTC),
        data=b"{}",
    )
    return ConsumerRecord(HOUSEHOLDS_TOPIC, 0, offset, 0, 0, b"k", b"{}", None, 0, 0, env.to_headers())


def consumed(outcome: str, event_type: str = HouseholdProblemFound.event_type) -> float:
    labels = {"topic": HOUSEHOLDS_TOPIC, "type": event_type, "outcome": outcome}
    return REGISTRY.get_sample_value("poverty_events_consumed_total", labels) or 0.0


def lag() -> float | None:
    return REGISTRY.get_sample_value("poverty_consumer_lag", {"topic": HOUSEHOLDS_TOPIC, "partition": "0"})


async def test_events_are_counted_by_topic_type_and_outcome_and_lag_falls_to_zero(harness: Harness) -> None:
    tp = TopicPartition(HOUSEHOLDS_TOPIC, 0)
    logs = {tp: [known(0, "a"), known(1, "a"), known(2, "bad"), known(3, "b")]}
    consumer, dlq = FakeConsumer(logs), FakeDeadLetters()
    entered, release = asyncio.Event(), asyncio.Event()
    handlers = harness.handlers = HandlerRegistry()

    @handlers.observe(HOUSEHOLDS_TOPIC)
    async def apply(session: AsyncSession, env: Envelope, topic: str) -> None:
        entered.set()
        await release.wait()
        if env.id == "bad":
            raise ValueError("a handler that keeps failing")

    outcomes = ("applied", "duplicate", "retried", "dead_lettered", "failed")
    before = {outcome: consumed(outcome) for outcome in outcomes}
    dead_letters_before = REGISTRY.get_sample_value("poverty_dead_letters_total", {"topic": HOUSEHOLDS_TOPIC}) or 0
    runner = harness.runner(consumer, dlq, max_attempts=3)
    task = asyncio.create_task(runner.run())
    try:
        await asyncio.wait_for(entered.wait(), 5)
        assert lag() == 4  # fetched, none applied yet
        release.set()
        for _ in range(500):
            if consumer.committed.get(tp) == 4:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    counted = {outcome: consumed(outcome) - before[outcome] for outcome in outcomes}
    # The batch failed on "bad" and was replayed one event per transaction: "bad" failed twice more, then went to
    # the dead-letter topic; "a" twice is applied once.
    assert counted == {"applied": 2, "duplicate": 1, "retried": 2, "dead_lettered": 1, "failed": 0}
    dead_letters = REGISTRY.get_sample_value("poverty_dead_letters_total", {"topic": HOUSEHOLDS_TOPIC})
    assert dead_letters == dead_letters_before + 1 and len(dlq.sent) == 1
    assert lag() == 0


async def test_retention_counts_the_rows_it_purges(sqlite_url: SqliteUrl) -> None:
    engine = create_engine(await sqlite_url("projects"))
    now = datetime(2020, 6, 1, tzinfo=UTC)
    purged = {"table": "outbox"}
    before = REGISTRY.get_sample_value("poverty_messaging_rows_purged_total", purged) or 0
    try:
        await seed_messaging_rows(engine, {"old": (now - timedelta(days=30), True)})
        await purge_expired(engine, RetentionPolicy(timedelta(days=7), timedelta(days=60)), now=now)
    finally:
        await engine.dispose()
    assert REGISTRY.get_sample_value("poverty_messaging_rows_purged_total", purged) == before + 1


async def test_the_outbox_backlog_is_sampled_into_the_metrics(
    sqlite_url: SqliteUrl, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shared.messaging.backlog

    monkeypatch.setattr(shared.messaging.backlog, "SAMPLE_INTERVAL_S", 0.05)
    port = free_port()
    async with running_app("households", await sqlite_url("households"), metrics_port=port) as (app, _):
        await seed_messaging_rows(
            app.state.runtime.engine, {"waiting": (datetime.now(UTC) - timedelta(minutes=2), False)}
        )
        scraped = await scraped_until(metrics_url(port), lambda s: s.value("poverty_outbox_backlog") == 1)
    assert scraped.value("poverty_outbox_oldest_unpublished_age_seconds") >= 120


async def test_findings_opened_are_counted_by_source_once_committed(sqlite_url: SqliteUrl) -> None:
    port = free_port()
    async with running_app("audit", await sqlite_url("audit"), metrics_port=port) as (app, _):
        before = await scrape(metrics_url(port))
        problem = household_problem(uuid.uuid4())
        await apply_event(app, problem)
        await apply_event(app, problem.model_copy(update={"problem_id": uuid.uuid4()}))  # the same open problem again
        with pytest.raises(RuntimeError):
            async with app.state.sessions() as session, session.begin():
                await apply(app, household_problem(uuid.uuid4()), session)
                raise RuntimeError("the transaction rolls back")
        after = await scrape(metrics_url(port))
    assert after.since(before, "poverty_findings_opened_total", source="households") == 1


async def apply(app: Any, event: HouseholdProblemFound, session: AsyncSession) -> None:
    application = app.state.runtime.handlers.bind(event.topic, envelope_of(event))
    await application(session)


async def test_scheduled_check_runs_are_counted_by_check_and_outcome(sqlite_url: SqliteUrl, tmp_path: Path) -> None:
    from services.audit.domain.scheduled import run_checks
    from services.audit.settings import AuditSettings

    def runs(check: str, outcome: str) -> float:
        labels = {"check": check, "outcome": outcome}
        return REGISTRY.get_sample_value("poverty_scheduled_check_runs_total", labels) or 0.0

    checks = ("reminders", "overdue", "weekly_handover")
    before = {(c, o): runs(c, o) for c in checks for o in ("ok", "failed")}
    settings = AuditSettings(database_url="unused")
    for url in (await sqlite_url("audit"), f"sqlite+aiosqlite:///{tmp_path}/unmigrated.db"):
        engine = create_engine(url)
        try:
            with contextlib.suppress(Exception):
                await run_checks(session_factory(engine), settings, now=datetime.now(UTC))
        finally:
            await engine.dispose()
    counted = {key: runs(*key) - value for key, value in before.items() if runs(*key) != value}
    # The migrated database: each check ran; the other has no tables: the first check failed and ended the run.
    assert counted == {
        ("reminders", "ok"): 1,
        ("overdue", "ok"): 1,
        ("weekly_handover", "ok"): 1,
        ("reminders", "failed"): 1,
    }

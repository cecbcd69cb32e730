"""A service started before its migration job finished waits for the schema before it joins its consumer group,
publishes, purges or runs its workers: a handler meeting a table or function not there yet fails for good, and its
events would be dead-lettered. A schema of a later release (a rolled-back Deployment) does not hold it back."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from prometheus_client import REGISTRY
from sqlalchemy import text

import shared.service
from shared.db import create_engine
from shared.health import _migrations
from shared.messaging.relay import Backoff
from shared.metrics import SCHEMA_READY
from shared.migrations import alembic_config
from shared.service import SCHEMA_AHEAD, SCHEMA_BEHIND, ServiceRuntime, ServiceSpec
from shared.settings import ServiceSettings
from tests.support import migrate_to

SERVICE = "households"
_MIGRATIONS = ScriptDirectory.from_config(alembic_config(SERVICE))
HEAD = _MIGRATIONS.get_current_head()
PREVIOUS = _MIGRATIONS.get_revision(HEAD).down_revision  # before the head
LATER = "9999"  # a revision of a later release, unknown to this one


class Started:
    """What the runtime started, in order."""

    def __init__(self) -> None:
        self.steps: list[str] = []
        self.work: list[Coroutine[Any, Any, None]] = []  # the workers' coroutines, as given to the runtime
        self._changed = asyncio.Event()

    def add(self, step: str) -> None:
        self.steps.append(step)
        self._changed.set()

    async def until(self, *steps: str) -> None:
        async with asyncio.timeout(10):
            while not set(steps) <= set(self.steps):
                self._changed.clear()
                await self._changed.wait()


@pytest.fixture
async def url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'households.db'}"


@pytest.fixture
async def started(monkeypatch: pytest.MonkeyPatch) -> Started:
    started = Started()

    async def start_producer(runtime: ServiceRuntime) -> None:
        started.add("producer")
        runtime.producer_started = True

    async def join_group(_: ServiceRuntime) -> None:
        started.add("consumer group")

    async def no_relay(_: ServiceRuntime) -> None:
        await asyncio.Event().wait()

    monkeypatch.setattr(ServiceRuntime, "_start_producer", start_producer)
    monkeypatch.setattr(ServiceRuntime, "_join_group", join_group)
    monkeypatch.setattr(shared.service.OutboxRelay, "run", no_relay)
    monkeypatch.setattr(shared.service, "watch_kafka", lambda _: asyncio.sleep(0))
    return started


@pytest.fixture
async def runtime(url: str, started: Started) -> AsyncIterator[ServiceRuntime]:
    async def work() -> None:
        started.add("worker")

    def worker(_: ServiceRuntime) -> Coroutine[Any, Any, None]:
        started.add("worker set up")  # as audit's webhook delivery marks its sessions when given the runtime
        started.work.append(work())
        return started.work[-1]

    settings = ServiceSettings(database_url=url, kafka_enabled=True, metrics_port=0)
    runtime = ServiceRuntime(ServiceSpec(name=SERVICE, title=SERVICE, settings=settings, routers=[], workers=[worker]))
    yield runtime
    await asyncio.wait_for(runtime.stop(), 10)


async def test_a_pod_joins_its_group_and_runs_its_workers_once_the_migrations_ran(
    url: str, runtime: ServiceRuntime, started: Started, caplog: pytest.LogCaptureFixture
) -> None:
    await migrate_to(SERVICE, url, PREVIOUS)  # the migration job has not run yet
    SCHEMA_READY.set(0)
    await runtime.start()
    await started.until("producer", "worker set up")
    await asyncio.sleep(1.0)  # two looks at the schema
    assert (sorted(started.steps), runtime.schema_current) == (["producer", "worker set up"], False)
    assert [r.message for r in caplog.records].count(SCHEMA_BEHIND) == 1
    assert REGISTRY.get_sample_value("poverty_schema_ready") == 0
    await migrate_to(SERVICE, url, "head")
    await started.until("consumer group", "worker")
    assert runtime.schema_current and runtime.kafka_started
    assert REGISTRY.get_sample_value("poverty_schema_ready") == 1


async def test_readiness_that_finds_the_schema_current_starts_what_waited(
    url: str, runtime: ServiceRuntime, started: Started, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shared.service, "Backoff", lambda *_: Backoff(60, 60))  # the next look is a minute away
    await migrate_to(SERVICE, url, PREVIOUS)
    await runtime.start()
    await started.until("producer")
    await migrate_to(SERVICE, url, "head")
    assert await _migrations(runtime)
    await started.until("consumer group", "worker")


async def test_a_schema_of_a_later_release_lets_the_work_run_and_says_so(
    url: str, runtime: ServiceRuntime, started: Started, caplog: pytest.LogCaptureFixture
) -> None:
    await migrate_to(SERVICE, url, "head")
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = :later"), {"later": LATER})
    await engine.dispose()
    await runtime.start()
    await started.until("consumer group", "worker")
    assert not runtime.schema_current  # still unready for requests
    [ahead] = [r for r in caplog.records if r.message == SCHEMA_AHEAD]
    assert (ahead.levelno, ahead.database_revision, ahead.release_head) == (logging.ERROR, LATER, HEAD)


async def test_work_stopped_before_the_schema_allowed_it_is_closed_unstarted(
    url: str, runtime: ServiceRuntime, started: Started
) -> None:
    await migrate_to(SERVICE, url, PREVIOUS)
    await runtime.start()
    await asyncio.wait_for(runtime.stop(), 10)  # at once: no task has begun
    assert [inspect.getcoroutinestate(work) for work in started.work] == [inspect.CORO_CLOSED]  # not left to warn
    assert "worker" not in started.steps

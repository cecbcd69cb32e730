"""A service started before its migration job finished waits for the schema before it consumes, publishes, purges or
runs its workers: a handler meeting a table or function not there yet fails for good, and its events would be
dead-lettered."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import shared.service
from shared.service import ServiceRuntime, ServiceSpec
from shared.settings import ServiceSettings
from tests.support import migrate_to

SERVICE = "households"
PREVIOUS = "0011"  # the revision before households' head


async def test_kafka_and_workers_start_once_the_schema_reaches_the_release_s_migrations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'households.db'}"
    await migrate_to(SERVICE, url, PREVIOUS)  # the migration job has not run yet
    started: list[str] = []
    both = asyncio.Event()

    def start(what: str) -> None:
        started.append(what)
        if len(started) == 2:
            both.set()

    async def worker(_: ServiceRuntime) -> None:
        start("worker")

    async def connect(_: ServiceRuntime) -> None:
        start("kafka")
        await asyncio.Event().wait()

    monkeypatch.setattr(ServiceRuntime, "_connect", connect)
    monkeypatch.setattr(shared.service, "watch_kafka", lambda _: asyncio.sleep(0))
    settings = ServiceSettings(database_url=url, kafka_enabled=True, metrics_port=0)
    runtime = ServiceRuntime(ServiceSpec(name=SERVICE, title=SERVICE, settings=settings, routers=[], workers=[worker]))
    await runtime.start()
    try:
        await asyncio.sleep(1.0)  # two looks at the schema
        assert (started, runtime.schema_current) == ([], False)
        await migrate_to(SERVICE, url, "head")
        await asyncio.wait_for(both.wait(), 10)
        assert sorted(started) == ["kafka", "worker"]
        assert runtime.schema_current
    finally:
        await asyncio.wait_for(runtime.stop(), 10)

"""The four services as separate processes over HTTP, a real Kafka broker and real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from shared.local.kafka import free_port
from shared.local.processes import ServiceProcess, service_env
from shared.registry import SERVICES
from tests.support import migrate


@dataclass
class Platform:
    kafka: str
    services: dict[str, ServiceProcess]

    def client(self, service: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.services[service].base_url, timeout=10)


async def _create_databases(admin_url: str, run_id: str) -> dict[str, str]:
    conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        for service in SERVICES:
            await conn.execute(f'CREATE DATABASE "e2e_{service}_{run_id}"')
    finally:
        await conn.close()
    base = admin_url.rsplit("/", 1)[0]
    return {service: f"{base}/e2e_{service}_{run_id}" for service in SERVICES}


async def _drop_databases(admin_url: str, urls: dict[str, str]) -> None:
    conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        for url in urls.values():
            await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def platform(
    tmp_path_factory: pytest.TempPathFactory, postgres_admin_url: str, kafka: str
) -> AsyncIterator[Platform]:
    """One platform for the whole session: e2e tests work on their own households, projects and ids."""
    root: Path = tmp_path_factory.mktemp("platform")
    urls = await _create_databases(postgres_admin_url, uuid.uuid4().hex[:8])
    processes: dict[str, ServiceProcess] = {}
    try:
        for service, url in urls.items():
            await migrate(service, url)
            port = free_port()
            env = service_env(
                service, database_url=url, kafka=kafka, port=port, outbox_poll_interval_s="1.0", environment="test"
            )
            processes[service] = ServiceProcess(service, port, env, root / f"{service}.log")
            processes[service].start()
        for process in processes.values():
            await asyncio.to_thread(process.wait_ready)
        yield Platform(kafka, processes)
    finally:
        for process in processes.values():
            process.stop()
        await _drop_databases(postgres_admin_url, urls)

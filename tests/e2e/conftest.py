"""The four services as separate processes over HTTP, a real Kafka broker and real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from shared.local.databases import ScratchDatabases
from shared.local.kafka import free_port
from shared.local.processes import ServiceProcess, service_env
from shared.service_index import SERVICES
from tests.support import migrate


@dataclass
class Platform:
    kafka: str
    services: dict[str, ServiceProcess]

    def client(self, service: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.services[service].base_url, timeout=10)


@pytest.fixture(scope="session")
async def platform(
    tmp_path_factory: pytest.TempPathFactory, postgres_admin_url: str, kafka: str
) -> AsyncIterator[Platform]:
    """One platform for the whole session: e2e tests work on their own households, projects and ids."""
    root: Path = tmp_path_factory.mktemp("platform")
    databases = ScratchDatabases(postgres_admin_url)
    processes: dict[str, ServiceProcess] = {}
    try:
        for service in SERVICES:
            url = await databases.create(f"e2e_{service}")
            await migrate(service, url)
            port, metrics_port = free_port(), free_port()
            env = service_env(
                service, database_url=url, kafka=kafka, port=port, metrics_port=str(metrics_port), environment="test"
            )
            processes[service] = ServiceProcess(service, port, env, root / f"{service}.log", metrics_port=metrics_port)
            processes[service].start()
        for process in processes.values():
            await asyncio.to_thread(process.wait_ready)
        yield Platform(kafka, processes)
    finally:
        for process in processes.values():
            process.stop()
        await databases.drop_all()

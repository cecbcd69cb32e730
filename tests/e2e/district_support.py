"""A platform of its own for the demo district's tests: the four services as processes on scratch PostgreSQL
databases and a broker of its own (the session's services read the same topics in the same consumer groups and would
take half of its events), stopped and dropped afterwards."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from shared.local.databases import ScratchDatabases, admin_url
from shared.local.kafka import LocalKafka, free_port
from shared.local.processes import ServiceProcess, service_env
from shared.service_index import SERVICES
from tests.support import migrate


@dataclass
class District:
    urls: dict[str, str]
    databases: dict[str, str]
    logs: Path


@asynccontextmanager
async def own_platform(root: Path) -> AsyncIterator[District]:
    databases = ScratchDatabases(admin_url())
    processes: list[ServiceProcess] = []
    urls: dict[str, str] = {}
    try:
        async with LocalKafka(data_dir=root / "kafka") as broker:
            for service in SERVICES:
                urls[service] = await databases.create(f"district_{service}")
                await migrate(service, urls[service])
                port = free_port()
                env = service_env(
                    service,
                    database_url=urls[service],
                    kafka=broker.bootstrap_servers,
                    port=port,
                    metrics_port=str(free_port()),
                    environment="test",
                )
                processes.append(ServiceProcess(service, port, env, root / f"{service}.log"))
                processes[-1].start()
            for process in processes:
                await asyncio.to_thread(process.wait_ready)
            try:
                yield District({p.name: p.base_url for p in processes}, urls, root)
            finally:
                for process in processes:
                    process.stop()
    finally:
        await databases.drop_all()

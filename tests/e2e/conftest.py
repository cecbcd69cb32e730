"""The four services as separate processes over HTTP, a real Kafka broker and real PostgreSQL, and a government
messaging system's webhook receiver (on loopback) that audit delivers its notifications to."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.collector import settle_heap
from shared.local.databases import ScratchDatabases
from shared.local.kafka import free_port
from shared.local.processes import ServiceProcess, service_env
from shared.service_index import SERVICES
from tests.kafka_support import eventually
from tests.support import migrate

WEBHOOK_SECRET = "e2e-webhook-secret-0123456789abcdef0123"


@dataclass
class WebhookReceiver:
    """What the messaging system received: each delivery's headers and JSON body (with `_raw`, the bytes as text,
    to check the signature against), in arrival order."""

    url: str
    received: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)


@dataclass
class Platform:
    kafka: str
    services: dict[str, ServiceProcess]
    webhook: WebhookReceiver

    def client(self, service: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.services[service].base_url, timeout=10)


@pytest.fixture(scope="session")
async def webhook() -> AsyncIterator[WebhookReceiver]:
    """A receiver standing for the government messaging system, answering 200 to every delivery."""
    port = free_port()
    receiver = WebhookReceiver(f"http://127.0.0.1:{port}/hook")

    async def hook(request: Request) -> Response:
        raw = (await request.body()).decode()
        receiver.received.append((dict(request.headers), {**json.loads(raw), "_raw": raw}))
        return Response(status_code=200)

    server = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Route("/hook", hook, methods=["POST"])]), port=port, log_level="warning", lifespan="off"
        )
    )
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started)
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task


# Package-scoped: the platform's services stop when the end-to-end tests end. Left running, they would stay members of
# the services' consumer groups, and take from later tests' in-process services the partitions of their events.
@pytest.fixture(scope="package")
async def platform(
    tmp_path_factory: pytest.TempPathFactory, postgres_admin_url: str, kafka: str, webhook: WebhookReceiver
) -> AsyncIterator[Platform]:
    """One platform for the end-to-end tests: they work on their own households, projects and ids."""
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
            if service == "audit":
                env |= service_env(
                    service,
                    database_url=url,
                    kafka=kafka,
                    port=port,
                    webhook_url=webhook.url,
                    webhook_secret=WEBHOOK_SECRET,
                    webhook_interval_s="0.2",
                )
            processes[service] = ServiceProcess(service, port, env, root / f"{service}.log", metrics_port=metrics_port)
            processes[service].start()
        for process in processes.values():
            await asyncio.to_thread(process.wait_ready)
        yield Platform(kafka, processes, webhook)
    finally:
        for process in processes.values():
            process.stop()
        await databases.drop_all()


@pytest.fixture
def settled_heap() -> Iterator[None]:
    """The demo's loader runs in the test's process, whose heap the suite has grown to gigabytes by then: frozen, as a
    service process freezes its own, it stays out of the collector's full passes while the demo builds."""
    thresholds = gc.get_threshold()
    settle_heap()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)

"""A service's app in this process on the running service's database, its request clock moved: demo_subsidies'
mechanism (`in_process_subsidies`, `Month.at`) for a service other than subsidies. Kafka is off in here: what the
requests publish waits in the outbox, and the running service's relay sends it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

import httpx

from shared.api.clock import request_time
from shared.local.demo_district.calls import Calls
from shared.service_index import create_app, load_settings

QUIET = {  # each service's scheduled work, never due while the demo's requests run
    "projects": {"check_interval_seconds": 10**9},
    "audit": {"overdue_scan_interval_s": 10**9, "coverage_check_interval_s": 10**9},
}


class Moved(Calls):
    """Calls of an app in this process, acting at the moment `at` sets."""

    def __init__(self, app: Any, client: httpx.AsyncClient) -> None:
        super().__init__(client)
        self.app = app

    def at(self, day: date, hour: int = 10) -> None:
        """Requests from now on act at `hour` o'clock in the district (UTC+8) on `day`."""
        moment = datetime(day.year, day.month, day.day, hour - 8, tzinfo=UTC)
        self.app.dependency_overrides[request_time] = lambda: moment


@asynccontextmanager
async def in_process(service: str, database_url: str) -> AsyncIterator[Moved]:
    settings = load_settings(
        service,
        database_url=database_url,
        kafka_enabled=False,
        metrics_port=0,
        log_level="WARNING",
        **QUIET.get(service, {}),
    )
    app = create_app(service, settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url=f"http://{service}.in-process", timeout=120) as client,
    ):
        yield Moved(app, client)

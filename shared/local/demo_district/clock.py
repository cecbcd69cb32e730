"""A service's app in this process on the running service's database, its request clock moved: demo_subsidies'
mechanism (`in_process_subsidies`, `Month.at`) for a service other than subsidies. Kafka is off in here: what the
requests publish waits in the outbox, and the running service's relay sends it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from typing import Any

import httpx

from shared.api.clock import request_time
from shared.local.demo_district.calls import Calls
from shared.service_index import create_app, load_settings
from shared.timeutil import utcnow

QUIET = {  # each service's scheduled work, never due while the demo's requests run
    "projects": {"check_interval_seconds": 10**9},
    "audit": {"overdue_scan_interval_s": 10**9, "coverage_check_interval_s": 10**9},
}
# The moment of the asyncio task's requests: each task keeps its own, so tasks acting on different days (a
# rectification task's steps beside another's) run side by side. The app runs in the caller's task (ASGITransport).
MOMENT: ContextVar[datetime | None] = ContextVar("demo_district_moment", default=None)


async def _moved_time() -> datetime:
    return MOMENT.get() or utcnow()


class Moved(Calls):
    """Calls of an app in this process, acting at the moment `at` sets."""

    def __init__(self, app: Any, client: httpx.AsyncClient) -> None:
        super().__init__(client)
        app.dependency_overrides[request_time] = _moved_time

    @staticmethod
    def at(day: date, hour: int = 10) -> None:
        """This task's requests from now on act at `hour` o'clock in the district (UTC+8) on `day`."""
        MOMENT.set(datetime(day.year, day.month, day.day, hour - 8, tzinfo=UTC))


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
    unmoved = MOMENT.set(None)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url=f"http://{service}.in-process", timeout=120) as client,
        ):
            yield Moved(app, client)
    finally:
        MOMENT.reset(unmoved)

"""`/livez` (the process answers) and `/readyz` (the database answers and its schema is at head), and the watch on
Kafka that readiness reports without depending on it.

Readiness is what Kubernetes routes traffic by: a pod that is not ready gets no requests. Every API call needs the
database, so the database and its migrations decide it. Kafka does not: a write records its events in the outbox and
returns, and the relay publishes them once the brokers are back; taking every pod out of the Service during a broker
outage would only turn a delay of events into an outage of the API. Kafka's state is therefore reported among the
checks without deciding readiness (`"kafka": "ok" | "degraded" | "disabled"`) and as the metric
`poverty_kafka_connected`, which is what to alert on. The state comes from a background watch, so a probe never waits
on an unreachable broker.

Records the Kafka client could not unpack are quarantined and their partitions move on (`shared.messaging.quarantine`):
that is no reason to stop serving either, so `/readyz` stays ready and shows how many are waiting for an operator
(`"quarantined_records"`: neither replayed nor dismissed; null when the database cannot tell), beside the metric
`poverty_records_quarantined_total`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.messaging.kafka import ping
from shared.messaging.quarantine import open_count
from shared.metrics import KAFKA_CONNECTED
from shared.migrations import is_at_head

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)
CHECK_TIMEOUT_S = 3.0
KAFKA_CHECK_INTERVAL_S = 5.0  # how often a connected service pings the cluster
KAFKA_START_CHECK_INTERVAL_S = 0.5  # how often it looks whether the clients have started (no network involved)


@router.get("/livez")
async def livez() -> dict[str, str]:
    """Alive: never touches the database or Kafka, so a slow dependency never restarts the pod."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready to serve: the database answers and the schema is current (503 otherwise); Kafka's state is reported
    but never makes the pod unready."""
    runtime = request.app.state.runtime
    checks = {
        "database": await _check(_database(runtime)),
        "migrations": await _check(_migrations(runtime)),
    }
    ready = all(v == "ok" for v in checks.values())
    checks["kafka"] = kafka_state(runtime)
    quarantined = await _quarantined(runtime) if ready else None
    body = {"status": "ready" if ready else "not_ready", "checks": checks, "quarantined_records": quarantined}
    return JSONResponse(body, status_code=200 if ready else 503)


def kafka_state(runtime: Any) -> str:
    """`disabled` (the service runs without Kafka), `ok` (its clients reach the cluster) or `degraded`."""
    if not runtime.settings.kafka_enabled:
        return "disabled"
    return "ok" if runtime.kafka_connected else "degraded"


async def watch_kafka(runtime: Any) -> None:
    """Keep `runtime.kafka_connected` and `poverty_kafka_connected` current until cancelled: false until the
    producer has started, then whether the cluster answers a metadata request."""
    try:
        while True:
            connected = runtime.producer_started and await _check(_kafka(runtime), quiet=True) == "ok"
            if connected and not runtime.kafka_connected:
                log.info("kafka reachable")
            elif runtime.kafka_connected and not connected:
                log.warning("kafka unreachable; events wait in the outbox")
            runtime.kafka_connected = connected
            KAFKA_CONNECTED.set(1 if connected else 0)
            await asyncio.sleep(KAFKA_CHECK_INTERVAL_S if runtime.producer_started else KAFKA_START_CHECK_INTERVAL_S)
    finally:
        runtime.kafka_connected = False
        KAFKA_CONNECTED.set(0)


async def _check(probe: Any, *, quiet: bool = False) -> str:
    try:
        result = await asyncio.wait_for(probe, CHECK_TIMEOUT_S)
    except Exception as exc:
        if not quiet:
            log.warning("readiness check failed", extra={"error_type": type(exc).__name__})
        return "failing"
    return "ok" if result is not False else "failing"


async def _database(runtime: Any) -> None:
    async with runtime.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _migrations(runtime: Any) -> bool:
    if runtime.schema_current:
        return True
    if await is_at_head(runtime.engine, runtime.name):
        runtime.schema_is_current()  # what waited for the schema starts now, not at its next look
    return bool(runtime.schema_current)


async def _quarantined(runtime: Any) -> int | None:
    """Quarantined records waiting for an operator; None when the count cannot be read in time."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S), AsyncSession(runtime.engine) as session:
            return await open_count(session)
    except Exception as exc:
        log.warning("quarantine count failed", extra={"error_type": type(exc).__name__})
        return None


async def _kafka(runtime: Any) -> None:
    await ping(runtime.producer)

"""`/livez` (the process answers) and `/readyz` (database, migrations at head, Kafka reachable)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from shared.messaging.kafka import ping
from shared.migrations import is_at_head

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)
CHECK_TIMEOUT_S = 3.0


@router.get("/livez")
async def livez() -> dict[str, str]:
    """Alive: never touches the database or Kafka, so a slow dependency never restarts the pod."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready to serve: every dependency answers and the schema is current."""
    runtime = request.app.state.runtime
    checks = {
        "database": await _check(_database(runtime)),
        "migrations": await _check(_migrations(runtime)),
        "kafka": await _check(_kafka(runtime)) if runtime.settings.kafka_enabled else "disabled",
    }
    ready = all(v in ("ok", "disabled") for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks}, status_code=200 if ready else 503
    )


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def _check(probe: Any) -> str:
    try:
        result = await asyncio.wait_for(probe, CHECK_TIMEOUT_S)
    except Exception as exc:
        log.warning("readiness check failed", extra={"error_type": type(exc).__name__})
        return "failing"
    return "ok" if result is not False else "failing"


async def _database(runtime: Any) -> None:
    async with runtime.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _migrations(runtime: Any) -> bool:
    if runtime.schema_current:
        return True
    runtime.schema_current = await is_at_head(runtime.engine, runtime.name)
    return bool(runtime.schema_current)


async def _kafka(runtime: Any) -> bool:
    if not runtime.kafka_started:
        return False
    await ping(runtime.producer)
    return True

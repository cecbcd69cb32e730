"""A Kafka outage is told in a handful of lines, not thousands: the start of each kind of failure, a summary while it
lasts, the end.

Households runs as a process on a broker of the test's own, with its relay (a household registered during the outage
waits in the outbox) and its consumer; the broker is stopped for about 20 s and started again. The process's log is
then read from the moment the broker stopped: its warnings and errors are counted, and the health watch's state
changes and `shared.logs`'s end line are looked for."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.contracts import ALL_TOPICS
from shared.local.databases import ScratchDatabases
from shared.local.kafka import LocalKafka, free_port
from shared.local.processes import ServiceProcess, service_env
from shared.logs import QUIET_AFTER_S
from shared.messaging.kafka import ensure_topics
from tests.kafka_support import eventually
from tests.support import auth, migrate

pytestmark = pytest.mark.integration

OUTAGE_S = 20
MAX_LINES = 10  # warnings and errors of the whole outage, every logger of the service


def log_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for raw in path.read_text(errors="replace").splitlines():
        try:
            lines.append(json.loads(raw))
        except json.JSONDecodeError:  # a line the JVM or the interpreter wrote unformatted
            lines.append({"level": "raw", "msg": raw})
    return lines


def since(lines: list[dict[str, Any]], first: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    start = next(n for n, line in enumerate(lines) if first(line))
    return lines[start:]


async def register(base_url: str) -> None:
    body = {
        "household_code": f"OUTAGE-{uuid.uuid4().hex[:8]}",
        "area_code": "371523102201",
        "head_name": "李四",
        "members": [{"name": "李四", "relationship_to_head": "head", "birth_date": "1960-03-01"}],
    }
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        r = await client.post("/v1/households", json=body, headers=auth("district_office"))
        assert r.status_code == 201, r.text


async def test_a_broker_outage_is_told_in_a_handful_of_lines(tmp_path: Path, postgres_admin_url: str) -> None:
    broker = LocalKafka(data_dir=tmp_path / "kafka")
    databases = ScratchDatabases(postgres_admin_url)
    process: ServiceProcess | None = None
    log_path = tmp_path / "households.log"
    try:
        async with broker:
            await ensure_topics(broker.bootstrap_servers, ALL_TOPICS)
            url = await databases.create("outage_logging")
            await migrate("households", url)
            port = free_port()
            env = service_env("households", database_url=url, kafka=broker.bootstrap_servers, port=port)
            process = ServiceProcess("households", port, env | {"HOUSEHOLDS_METRICS_PORT": "0"}, log_path)
            process.start()
            await asyncio.to_thread(process.wait_ready)
            await register(process.base_url)  # published at once: the relay and the consumer are at work

            stopped_at = time.time()
            await asyncio.to_thread(broker.stop)
            await register(process.base_url)  # waits in the outbox: the relay retries until the broker is back
            await asyncio.sleep(OUTAGE_S)
            await asyncio.to_thread(broker.start)
            await broker.wait_ready_async()

            def ended() -> bool:
                return any(str(line["msg"]).startswith("failures stopped") for line in log_lines(log_path))

            await eventually(ended, timeout=QUIET_AFTER_S + 60)
    finally:
        if process is not None:
            process.stop()
        await databases.drop_all()

    lines = since(log_lines(log_path), lambda line: line.get("ts", "") >= _iso(stopped_at))
    end_at = next(n for n, line in enumerate(lines) if str(line["msg"]).startswith("failures stopped"))
    during, end = lines[:end_at], lines[end_at]  # what follows is the test stopping the service
    loud = [line for line in during if line["level"] in {"warning", "error", "critical", "raw"}]
    told = "\n".join(f"{line.get('logger')}: {line['msg']}" for line in loud)
    assert len(loud) <= MAX_LINES, f"{len(loud)} warning and error lines for a {OUTAGE_S} s outage:\n{told}"
    messages = [str(line["msg"]) for line in during]
    assert "kafka unreachable; events wait in the outbox" in messages  # the start, from the health watch
    assert "kafka reachable" in messages  # and its end
    assert end["suppressed"] > 100 and end["duration_s"] >= OUTAGE_S - 5, end
    assert any(kind.startswith("aiokafka") for kind in end["suppressed_by_kind"]), end
    summaries = [line for line in during if str(line["msg"]).startswith("failures go on")]
    assert sum(line["suppressed"] for line in summaries) <= end["suppressed"]


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()

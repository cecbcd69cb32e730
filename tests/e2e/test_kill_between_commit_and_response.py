"""A visit whose response is lost to a crash is recorded once, however often it is sent again.

Households runs as a process of its own on PostgreSQL and Kafka. Visits are sent many at a time, each with its own
`Idempotency-Key`, and the process is killed (SIGKILL) while some are in flight: some of those committed and lost
their response on the way out. Once it is back, every request whose response did not arrive is sent again with the
same key and body. Rounds repeat until one retry has found its visit committed (the window between commit and
response was hit), or the test fails: a run that never hit it would prove nothing.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from shared.api.idempotency import REPLAYED_HEADER
from shared.db import create_engine
from shared.local.databases import ScratchDatabases
from shared.local.kafka import free_port
from shared.local.processes import ServiceProcess, service_env
from shared.timeutil import district_today
from tests.support import auth, migrate

pytestmark = pytest.mark.e2e

VILLAGE = "371523102201"  # a village of 冯屯镇
OFFICE = auth("district_office")
HOUSEHOLDS = 12  # visits to one household wait on its lock: spread them so that many are in flight at once
IN_FLIGHT = 48  # visits sent at once in a round
MAX_ROUNDS = 10  # rounds at most before the window counts as never hit
LOST = (httpx.TransportError,)  # refused, reset or cut off: the answer did not arrive


@dataclass
class Visit:
    """One visit request: its key and body, never changed, and the first answer received."""

    key: str
    household_id: str
    body: dict[str, Any]
    visit_id: str | None = None  # from the first answer received (201, or the replay of a lost one)
    replayed: bool = False  # its answer came from a retry that found it committed

    @property
    def headers(self) -> dict[str, str]:
        return {**OFFICE, "Idempotency-Key": self.key}


@dataclass
class Households:
    process: ServiceProcess
    database_url: str

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.process.base_url, timeout=30)

    async def restart(self) -> None:
        self.process.start()
        await asyncio.to_thread(self.process.wait_ready)

    async def visits_by_key(self) -> dict[str, list[str]]:
        """Every visit row, by the key its observations carry."""
        engine = create_engine(self.database_url)
        try:
            async with engine.connect() as conn:
                rows = (await conn.execute(text("SELECT observations, id FROM visit"))).all()
        finally:
            await engine.dispose()
        found: dict[str, list[str]] = {}
        for observations, visit_id in rows:
            found.setdefault(observations, []).append(str(visit_id))
        return found


@pytest.fixture
async def households(tmp_path: Path, postgres_admin_url: str, kafka: str) -> AsyncIterator[Households]:
    databases = ScratchDatabases(postgres_admin_url)
    process: ServiceProcess | None = None
    try:
        url = await databases.create("e2e_kill_households")
        await migrate("households", url)
        port, metrics_port = free_port(), free_port()
        env = service_env(
            "households", database_url=url, kafka=kafka, port=port, metrics_port=str(metrics_port), environment="test"
        )
        process = ServiceProcess("households", port, env, tmp_path / "households.log", metrics_port=metrics_port)
        service = Households(process, url)
        await service.restart()
        yield service
    finally:
        if process is not None:
            process.stop()
        await databases.drop_all()


async def register_households(service: Households) -> list[str]:
    ids = []
    async with service.client() as client:
        for n in range(HOUSEHOLDS):
            body = {
                "household_code": f"E2E-KILL-{uuid.uuid4().hex[:8]}",
                "area_code": VILLAGE,
                "head_name": "李四",
                "members": [{"name": "李四", "relationship_to_head": "head", "birth_date": f"19{50 + n}-03-01"}],
            }
            r = await client.post("/v1/households", json=body, headers=OFFICE)
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
    return ids


def new_visits(household_ids: list[str], round_no: int) -> list[Visit]:
    visits = []
    for n in range(IN_FLIGHT):
        key = f"kill-{round_no}-{n}-{uuid.uuid4().hex[:8]}"
        body = {"round": 1, "visited_on": district_today().isoformat(), "visitor": "王五", "observations": key}
        visits.append(Visit(key, household_ids[n % len(household_ids)], body))
    return visits


async def send(client: httpx.AsyncClient, visit: Visit) -> httpx.Response | None:
    """The answer to the visit, or None if it was lost or said to retry later (503: the pool was busy)."""
    try:
        r = await client.post(f"/v1/households/{visit.household_id}/visits", json=visit.body, headers=visit.headers)
    except LOST:
        return None
    return None if r.status_code == 503 else r


def take(visit: Visit, response: httpx.Response, *, retry: bool) -> None:
    """Keep the first answer: a new visit (201) or, for a retry only, the replay of one the crash left unanswered."""
    if retry and response.status_code == 200:
        assert response.headers.get(REPLAYED_HEADER) == "true", response.text
        visit.replayed = True
    else:
        assert response.status_code == 201, response.text
        assert REPLAYED_HEADER not in response.headers
    visit.visit_id = response.json()["id"]


async def kill_mid_flight(service: Households, visits: list[Visit]) -> list[Visit]:
    """Send every visit at once and kill the service once some have been answered (others are then on the way in,
    in their transaction or on the way out); the visits whose answer was lost."""
    answered = asyncio.Event()
    kill_after = random.randint(IN_FLIGHT // 8, IN_FLIGHT // 2)
    count = 0

    async def one(client: httpx.AsyncClient, visit: Visit) -> None:
        nonlocal count
        response = await send(client, visit)
        if response is not None:
            take(visit, response, retry=False)
            count += 1
            if count >= kill_after:
                answered.set()

    async with service.client() as client:
        every = asyncio.gather(*(one(client, visit) for visit in visits))
        enough = asyncio.create_task(answered.wait())
        either: list[asyncio.Future[Any]] = [enough, every]
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        service.process.kill()
        enough.cancel()
        await every
    return [visit for visit in visits if visit.visit_id is None]


async def retry_lost(service: Households, lost: list[Visit]) -> None:
    async with service.client() as client:
        for visit in lost:
            response = await send(client, visit)
            while response is None:  # busy (503): as a client would, wait and send it again
                await asyncio.sleep(0.5)
                response = await send(client, visit)
            take(visit, response, retry=True)


async def test_a_visit_retried_after_a_crash_is_recorded_once(households: Households) -> None:
    household_ids = await register_households(households)
    sent: list[Visit] = []
    for round_no in range(MAX_ROUNDS):
        visits = new_visits(household_ids, round_no)
        sent += visits
        lost = await kill_mid_flight(households, visits)
        await households.restart()
        await retry_lost(households, lost)
        if any(visit.replayed for visit in sent):
            break
    assert any(visit.replayed for visit in sent), f"no request committed and lost its answer in {MAX_ROUNDS} rounds"

    recorded = await households.visits_by_key()
    assert sorted(recorded) == sorted(visit.key for visit in sent), "a visit missing, or one never sent"
    for visit in sent:
        assert recorded[visit.key] == [visit.visit_id], f"{visit.key}: {recorded[visit.key]} != {visit.visit_id}"

    async with households.client() as client:
        committed = next(visit for visit in sent if visit.replayed)
        again = await send(client, committed)
        assert again is not None and again.status_code == 200 and again.json()["id"] == committed.visit_id
        changed = {**committed.body, "visitor": "赵六"}
        r = await client.post(
            f"/v1/households/{committed.household_id}/visits", json=changed, headers=committed.headers
        )
        assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json"), r.text
    assert await households.visits_by_key() == recorded

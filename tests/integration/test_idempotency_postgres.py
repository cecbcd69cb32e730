"""Idempotent creates on PostgreSQL: the same request sent many times at once is recorded once, and each sender
gets its result."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest
from sqlalchemy import func, select

from shared.messaging.outbox import OutboxMessage
from tests.api_kit_app import notes_app
from tests.support import auth

pytestmark = pytest.mark.integration
HEADERS = {**auth("district_office"), "Idempotency-Key": "payroll-2020-06"}


async def test_concurrent_retries_record_once_and_then_replay(pg_database: Callable[[str], Awaitable[str]]) -> None:
    app = notes_app(await pg_database("projects"))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            sends = [client.post("/v1/notes", json={"text": "N-1"}, headers=HEADERS) for _ in range(8)]
            answers = await asyncio.gather(*sends)
            replay = await client.post("/v1/notes", json={"text": "N-1"}, headers=HEADERS)
        async with app.state.sessions() as session:
            recorded = await session.scalar(select(func.count()).select_from(OutboxMessage))
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(201) == 1 and set(statuses) == {200, 201}, statuses  # each waits for the first
    [created] = [a for a in answers if a.status_code == 201]
    assert replay.status_code == 200 and replay.json() == created.json()
    assert recorded == 1


async def test_a_retry_sent_while_the_first_is_working_waits_and_gets_its_result(
    pg_database: Callable[[str], Awaitable[str]],
) -> None:
    app = notes_app(await pg_database("projects"))
    body = {"text": "N-2", "hold_s": 0.5}  # the first holds its claim half a second before it commits
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            first = asyncio.create_task(client.post("/v1/notes", json=body, headers=HEADERS))
            await asyncio.sleep(0.1)
            retries = await asyncio.gather(*(client.post("/v1/notes", json=body, headers=HEADERS) for _ in range(5)))
            created = await first
        async with app.state.sessions() as session:
            recorded = await session.scalar(select(func.count()).select_from(OutboxMessage))
    assert created.status_code == 201
    assert [r.status_code for r in retries] == [200] * 5
    assert all(r.json() == created.json() and r.headers["Idempotency-Replayed"] == "true" for r in retries)
    assert recorded == 1


async def test_a_request_waiting_on_a_key_whose_holder_fails_claims_it_and_does_the_work(
    pg_database: Callable[[str], Awaitable[str]],
) -> None:
    app = notes_app(await pg_database("projects"))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            failing = {"text": "N-3", "hold_s": 0.5, "refuse": True}
            first = asyncio.create_task(client.post("/v1/notes", json=failing, headers=HEADERS))
            await asyncio.sleep(0.1)
            second = await client.post("/v1/notes", json={"text": "N-3"}, headers=HEADERS)
            refused = await first
        async with app.state.sessions() as session:
            recorded = await session.scalar(select(func.count()).select_from(OutboxMessage))
    assert refused.status_code == 409 and second.status_code == 201
    assert recorded == 1

"""Reads on real PostgreSQL: a GET runs without a transaction of its own on a connection the database keeps
read-only, and the pool survives connections the server closed (a restart) without a round trip per checkout."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from services.households.models import Household
from shared.db import create_engine, read_rows
from shared.failures import sqlstate
from tests.support import assert_problem, running_app
from tests.unit.test_households_helpers import OFFICE, VILLAGE, household, member

pytestmark = pytest.mark.integration
MakeDb = Callable[[str], Awaitable[str]]
READ_ONLY_TRANSACTION = "25006"


@pytest.fixture
async def service(pg_database: MakeDb) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, str]]:
    url = await pg_database("households")
    async with running_app("households", url) as (app, client):
        yield app, client, url


async def registered(client: httpx.AsyncClient, code: str) -> str:
    head = member("张三", "head", date(1960, 3, 1))  # no ID-card number: each household a new head
    response = await client.post("/v1/households", json=household(code, VILLAGE, head), headers=OFFICE)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.fixture
def control_sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements asyncpg sends outside prepared statements from now on: how it begins, commits and rolls back
    transactions, and how a pre-ping pings (`;`)."""
    sent: list[str] = []
    for name in ("execute", "fetchrow"):
        original = getattr(asyncpg.Connection, name)

        async def recorded(conn: Any, query: str, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            sent.append(query.strip().upper())
            return await _original(conn, query, *args, **kwargs)

        monkeypatch.setattr(asyncpg.Connection, name, recorded)
    return sent


def transaction_control(sent: list[str]) -> list[str]:
    """The transaction statements and pings among `sent`, by their first word (`;` for a ping)."""
    words = [s.split(" ")[0].rstrip(";") or ";" for s in sent]
    return [w for w in words if w in {"BEGIN", "COMMIT", "ROLLBACK", ";"}]


async def test_a_get_reads_without_begin_or_commit(
    service: tuple[FastAPI, httpx.AsyncClient, str], control_sent: list[str]
) -> None:
    _, client, _ = service
    household_id = await registered(client, "RD-1")
    sent = control_sent
    sent.clear()
    response = await client.get(f"/v1/households/{household_id}", headers=OFFICE)
    assert response.status_code == 200 and response.json()["household_code"] == "RD-1"
    page = await client.get("/v1/households", headers=OFFICE)
    assert [h["household_code"] for h in page.json()["items"]] == ["RD-1"]
    assert transaction_control(sent) == []  # nor a ping before each checkout
    await registered(client, "RD-1b")  # a write is one transaction: the log sees its BEGIN and COMMIT
    assert transaction_control(sent) == ["BEGIN", "COMMIT"], sent


async def test_a_write_through_a_reading_session_is_refused_and_changes_nothing(
    service: tuple[FastAPI, httpx.AsyncClient, str],
) -> None:
    app, client, _ = service
    household_id = await registered(client, "RD-2")
    async with app.state.reading() as session:
        with pytest.raises(DBAPIError) as refused:
            await session.execute(text("UPDATE household SET head_name = 'changed'"))
    assert sqlstate(refused.value) == READ_ONLY_TRANSACTION
    async with app.state.reading() as session:
        household_row = await session.get(Household, household_id)
        assert household_row is not None
        household_row.head_name = "changed"
        with pytest.raises(DBAPIError) as flushed:
            await session.flush()
    assert sqlstate(flushed.value) == READ_ONLY_TRANSACTION
    response = await client.get(f"/v1/households/{household_id}", headers=OFFICE)
    assert response.json()["head_name"] == "张三"


async def end_connections(url: str) -> int:
    """What a server restart does to the service's pooled connections: the server ends each of them (and they are
    gone, as after a restart, before the next request comes)."""
    admin = create_engine(url)
    others = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    try:
        async with admin.connect() as conn:
            ended = list(await conn.scalars(text(others)))
            await conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM unnest(CAST(:pids AS int[])) pid"), {"pids": ended}
            )
            for _ in range(100):  # a backend ends a moment after it is told to
                await conn.commit()  # a transaction reads the activity of its start
                if not set(await conn.scalars(text(others))) & set(ended):
                    break
                await asyncio.sleep(0.05)
    finally:
        await admin.dispose()
    await asyncio.sleep(0.1)  # the service's event loop reads each connection's end
    return len(ended)


async def test_reads_and_writes_succeed_after_the_server_closed_every_pooled_connection(
    service: tuple[FastAPI, httpx.AsyncClient, str],
) -> None:
    app, client, url = service
    household_id = await registered(client, "RD-3")
    assert (await client.get(f"/v1/households/{household_id}", headers=OFFICE)).status_code == 200
    runtime = app.state.runtime
    assert runtime.engine.sync_engine.pool.checkedin() and runtime.reading_engine.sync_engine.pool.checkedin()
    assert await end_connections(url) >= 2
    for _ in range(3):  # each pooled connection the server closed is replaced, none is used
        response = await client.get(f"/v1/households/{household_id}", headers=OFFICE)
        assert response.status_code == 200, response.text
        page = await client.get("/v1/households", headers=OFFICE)
        assert page.status_code == 200, page.text
    await registered(client, "RD-4")


async def test_a_connection_lost_without_a_word_fails_one_request_with_a_clean_503(
    service: tuple[FastAPI, httpx.AsyncClient, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, client, url = service
    household_id = await registered(client, "RD-5")
    assert (await client.get(f"/v1/households/{household_id}", headers=OFFICE)).status_code == 200
    monkeypatch.setattr(asyncpg.Connection, "is_closed", lambda _: False)  # as if the network were cut: no word
    await end_connections(url)
    lost = await client.get(f"/v1/households/{household_id}", headers=OFFICE)
    assert_problem(lost, 503)
    assert lost.headers["Retry-After"]
    monkeypatch.undo()  # the driver has seen the connections end: the next request gets new ones
    assert (await client.get(f"/v1/households/{household_id}", headers=OFFICE)).status_code == 200


async def test_every_read_gives_its_connection_back_whether_it_read_rows_or_objects(
    service: tuple[FastAPI, httpx.AsyncClient, str],
) -> None:
    app, client, _ = service
    household_id = await registered(client, "RD-6")
    reads = [f"/v1/households/{household_id}", "/v1/households", f"/v1/households/{household_id}/history"] * 20
    answers = await asyncio.gather(*(client.get(path, headers=OFFICE) for path in reads))
    assert [a.status_code for a in answers] == [200] * len(reads)
    assert answers[0].json()["household_code"] == "RD-6" and answers[2].json()["items"]
    # Rows came on connections of their own, objects on their session's: all went back before the answers.
    assert app.state.runtime.reading_engine.sync_engine.pool.checkedout() == 0


async def test_a_read_gives_its_connection_back_before_its_response_starts(
    service: tuple[FastAPI, httpx.AsyncClient, str],
) -> None:
    app, client, _ = service
    household_id = await registered(client, "RD-8")
    pool = app.state.runtime.reading_engine.sync_engine.pool
    out_at_start: dict[str, int] = {}

    async def watched(scope: Any, receive: Any, send: Any) -> None:
        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                request = f"{scope['path']}?{scope['query_string'].decode()}"
                out_at_start[f"{message['status']} {request}"] = pool.checkedout()
            await send(message)

        await app(scope, receive, sending)

    history = f"/v1/households/{household_id}/history"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=watched), base_url="http://test") as watching:
        for path, params in [
            (f"/v1/households/{household_id}", {}),  # rows
            (history, {}),  # objects, through the session
            (f"/v1/households/{uuid.uuid4()}/history", {}),  # a 404 raised by the route
            (history, {"cursor": "bogus"}),  # a 422 raised by the route
        ]:
            await watching.get(path, params=params, headers=OFFICE)
    assert sorted(s.split(" ")[0] for s in out_at_start) == ["200", "200", "404", "422"], out_at_start
    assert set(out_at_start.values()) == {0}, out_at_start


async def test_rows_read_through_a_reading_session_leave_it_holding_no_connection(
    service: tuple[FastAPI, httpx.AsyncClient, str],
) -> None:
    app, client, _ = service
    household_id = await registered(client, "RD-7")
    session = app.state.reading()
    rows = await read_rows(session, select(Household.head_name).where(Household.id == household_id))
    assert [tuple(r) for r in rows] == [("张三",)]
    assert not session.in_transaction()  # nothing to give back: the route's session need not be closed
    assert app.state.runtime.reading_engine.sync_engine.pool.checkedout() == 0

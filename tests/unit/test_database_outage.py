"""A database that cannot be reached is a 503 the caller may retry (with Retry-After), never a 500."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx
import pytest
import sqlalchemy.exc
from fastapi import FastAPI

from shared.error_documents import install_error_handlers
from shared.local.kafka import free_port
from tests.support import assert_problem, auth, running_app

OFFICE = auth("district_office")


async def test_postgresql_refusing_connections_is_a_503_that_names_no_address() -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql+asyncpg://poverty:secret-pw@127.0.0.1:{port}/households"
    async with running_app("households", url) as (_, client):
        response = await client.get("/v1/households", headers=OFFICE)
    problem = assert_problem(response, 503)
    assert response.headers["retry-after"] == "5"
    assert problem["type"].endswith("/service-unavailable")
    assert str(port) not in response.text and "secret-pw" not in response.text


def _replace_with_directory(database: Path) -> None:
    database.unlink()
    database.mkdir()  # SQLite cannot open a directory: every new connection fails


async def test_a_database_file_gone_under_a_running_service_is_a_503(
    sqlite_url: Callable[[str], Awaitable[str]],
) -> None:
    url = await sqlite_url("households")
    async with running_app("households", url) as (app, client):
        assert (await client.get("/v1/households", headers=OFFICE)).status_code == 200
        for engine in (app.state.runtime.engine, app.state.runtime.reading_engine):  # writes' and reads' pools
            await engine.dispose()
        _replace_with_directory(Path(url.removeprefix("sqlite+aiosqlite:///")))
        response = await client.get("/v1/households", headers=OFFICE)
    assert_problem(response, 503)
    assert response.headers["retry-after"] == "5"


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (sqlalchemy.exc.TimeoutError("QueuePool limit reached"), 503),  # every connection busy
        (sqlalchemy.exc.DBAPIError("UPDATE", {}, _PgError("40P01")), 503),  # PostgreSQL aborted a deadlock
        (sqlalchemy.exc.IntegrityError("INSERT", {}, _PgError("23505")), 500),  # a bug: a key not checked first
        (asyncpg.exceptions.CannotConnectNowError("shutting down"), 503),  # raised by asyncpg.connect, unwrapped
        (asyncpg.exceptions.UniqueViolationError("duplicate key"), 500),
        (KeyError("x"), 500),
    ],
)
async def test_transient_database_failures_are_503_and_bugs_stay_500(failure: Exception, status: int) -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/fails")
    async def fails() -> None:
        raise failure

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/fails")
    assert_problem(response, status)
    assert ("retry-after" in response.headers) is (status == 503)

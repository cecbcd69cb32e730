"""What every request goes through, kept cheap. Reads take `Reading`: a session without a transaction of its own, on
a connection the database keeps read-only (SQLite's `query_only` here; PostgreSQL's in
tests/integration/test_reading_postgres.py). No dependency is a plain function, which FastAPI would run in a worker
thread. The token a client sends with every request is checked once, then remembered only until it expires."""

from __future__ import annotations

import importlib
import inspect
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import jwt
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import async_sessionmaker

from shared import auth as auth_module
from shared.auth import TokenVerifier, issue_token
from shared.db import reading_engine
from shared.errors import Unauthenticated
from shared.http import _transaction
from shared.settings import DEV_JWT_SECRET
from tests.support import service_settings

SERVICES = ("households", "projects", "subsidies", "audit")
# The ledger's checks walk the whole log and compare it with the tables in one transaction.
IN_ONE_TRANSACTION = ("/ledger/",)


def api_routes(service: str) -> list[APIRoute]:
    """The service's operations, as its routers declare them (paths without the version prefix)."""
    routers = importlib.import_module(f"services.{service}.api").routers
    found = [route for router in routers for route in router.routes if isinstance(route, APIRoute)]
    assert found
    return found


def calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from calls(sub)


@pytest.mark.parametrize("service", SERVICES)
def test_every_read_route_takes_a_reading_session_and_no_transaction(service: str) -> None:
    reads = [r for r in api_routes(service) if "GET" in (r.methods or ()) and not r.path.startswith(IN_ONE_TRANSACTION)]
    for route in reads:
        used = set(calls(route.dependant))
        assert _transaction not in used, f"GET {route.path} opens a transaction: take `Reading`"


@pytest.mark.parametrize("service", SERVICES)
def test_no_dependency_runs_in_a_worker_thread(service: str) -> None:
    for route in api_routes(service):
        for call in calls(route.dependant):
            # A function, or an instance whose `__call__` is the dependency (a role requirement, the bearer scheme).
            target = call if inspect.isroutine(call) or inspect.isclass(call) else type(call).__call__
            assert inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target), (
                f"{route.path}: {getattr(call, '__qualname__', call)} is a plain function: make it `async def`"
            )


async def test_a_write_through_a_reading_session_is_refused(sqlite_url: Callable[[str], Awaitable[str]]) -> None:
    engine = reading_engine(await sqlite_url("households"))
    try:
        async with async_sessionmaker(engine)() as session:
            with pytest.raises(OperationalError, match="readonly"):
                await session.execute(
                    text(
                        "INSERT INTO helpercadre (id, subject, name, unit, area_code, "
                        "registered_at) VALUES ('x', 's', 'n', 'u', 'a', '2020-01-01')"
                    )
                )
            assert await session.scalar(text("SELECT count(*) FROM helpercadre")) == 0
    finally:
        await engine.dispose()


@pytest.fixture
def verifier() -> TokenVerifier:
    return TokenVerifier(service_settings("households", database_url="sqlite+aiosqlite:///unused.db"))


def test_a_remembered_token_still_expires(verifier: TokenVerifier) -> None:
    token = issue_token(DEV_JWT_SECRET, "officer-1", ["district_office"], ttl_s=2)
    assert verifier.verify(token).subject == "officer-1"
    assert verifier.verify(token).subject == "officer-1"  # remembered
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    time.sleep(max(0.0, expires - time.time()) + 0.05)
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.verify(token)


def test_a_changed_token_is_checked_afresh(verifier: TokenVerifier) -> None:
    token = issue_token(DEV_JWT_SECRET, "officer-1", ["district_office"])
    assert verifier.verify(token).subject == "officer-1"
    header, claims, signature = token.split(".")
    forged = issue_token("another-secret-of-at-least-32-bytes!!", "officer-1", ["district_office"]).split(".")[2]
    with pytest.raises(Unauthenticated, match="invalid"):
        verifier.verify(f"{header}.{claims}.{forged}")
    assert signature != forged


def test_remembered_tokens_are_bounded(verifier: TokenVerifier, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth_module, "VERIFIED_TOKENS_KEPT", 3)
    for n in range(7):
        verifier.verify(issue_token(DEV_JWT_SECRET, f"officer-{n}", ["district_office"]))
    assert len(verifier._verified) <= 3

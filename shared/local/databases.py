"""Scratch PostgreSQL databases for tests and benchmarks: created on a server, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from shared.db import create_engine

# The server deploy/local/ensure-postgres.sh sets up. It runs on this host: TLS would only spend CPU on both
# ends of a loopback socket (the benchmarks measured ~0.1 ms a household imported on each side).
LOCAL_ADMIN_URL = "postgresql+asyncpg://poverty:poverty@127.0.0.1:5432/postgres?ssl=disable"


def admin_url() -> str:
    """Where scratch databases are made: `TEST_POSTGRES_URL`, else the local server."""
    return os.environ.get("TEST_POSTGRES_URL", LOCAL_ADMIN_URL)


def asyncpg_options(url: str) -> dict[str, Any]:
    """Where a SQLAlchemy URL points, as bare asyncpg's `connect` and `create_pool` take it (a benchmark's raw
    baseline talks to the same database)."""
    parts = make_url(url)
    return {
        "host": parts.host,
        "port": parts.port,
        "user": parts.username,
        "password": parts.password,
        "database": parts.database,
    }


class ScratchDatabases:
    """Creates databases through an administrative URL; each URL it returns keeps that URL's options
    (user, host, `?ssl=disable`, ...) with the new database's name."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.created: list[str] = []

    async def create(self, prefix: str) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        await self._run(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    async def drop_all(self) -> None:
        await self._run(*(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in self.created))
        self.created.clear()

    async def _run(self, *statements: str) -> None:
        if not statements:
            return
        engine = create_engine(self.admin_url)
        try:
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")  # CREATE DATABASE refuses a transaction
                for statement in statements:
                    await conn.execute(text(statement))
        finally:
            await engine.dispose()


@asynccontextmanager
async def scratch_database(admin_url: str, prefix: str) -> AsyncIterator[str]:
    """The URL of a new, empty database, dropped on exit."""
    databases = ScratchDatabases(admin_url)
    try:
        yield await databases.create(prefix)
    finally:
        await databases.drop_all()

"""Fixtures for the tiers that need real infrastructure: a real Kafka broker and real PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from shared.local.kafka import LocalKafka
from tests.support import migrate

DEFAULT_POSTGRES = "postgresql+asyncpg://poverty:poverty@127.0.0.1:5432/postgres"


@pytest.fixture(scope="session")
async def kafka(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A real single-node KRaft broker for the session (or TEST_KAFKA_BOOTSTRAP if one is given)."""
    given = os.environ.get("TEST_KAFKA_BOOTSTRAP")
    if given:
        yield given
        return
    broker = LocalKafka(data_dir=tmp_path_factory.mktemp("kafka"))
    async with broker:
        yield broker.bootstrap_servers


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    return os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES)


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@pytest.fixture
async def pg_database(postgres_admin_url: str) -> AsyncIterator[Callable[[str], Awaitable[str]]]:
    """Factory: a fresh PostgreSQL database migrated for a service; dropped after the test."""
    created: list[str] = []

    async def make(service: str) -> str:
        name = f"t_{service}_{uuid.uuid4().hex[:10]}"
        conn = await asyncpg.connect(_dsn(postgres_admin_url))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        created.append(name)
        url = postgres_admin_url.rsplit("/", 1)[0] + f"/{name}"
        await migrate(service, url)
        return url

    yield make
    conn = await asyncpg.connect(_dsn(postgres_admin_url))
    try:
        for name in created:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()

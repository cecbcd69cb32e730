"""Fixtures for the tiers that need real infrastructure: a real Kafka broker and real PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from shared.local.databases import ScratchDatabases
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


@pytest.fixture
async def pg_database(postgres_admin_url: str) -> AsyncIterator[Callable[[str], Awaitable[str]]]:
    """Factory: a fresh PostgreSQL database migrated for a service; dropped after the test."""
    databases = ScratchDatabases(postgres_admin_url)

    async def make(service: str) -> str:
        url = await databases.create(f"t_{service}")
        await migrate(service, url)
        return url

    yield make
    await databases.drop_all()

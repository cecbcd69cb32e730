"""Fixtures for the tiers that need real infrastructure: a real Kafka broker and real PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from shared.local.databases import ScratchDatabases, admin_url
from shared.local.kafka import LocalKafka
from tests.kafka_support import SASL_PASSWORD, SASL_USER
from tests.support import migrate


@pytest.fixture(scope="session")
async def local_kafka(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalKafka | None]:
    """A real single-node KRaft broker for the session, with a SASL/PLAIN listener too (None when the tests are
    given a broker in TEST_KAFKA_BOOTSTRAP)."""
    if os.environ.get("TEST_KAFKA_BOOTSTRAP"):
        yield None
        return
    broker = LocalKafka(data_dir=tmp_path_factory.mktemp("kafka"), sasl_users={SASL_USER: SASL_PASSWORD})
    async with broker:
        yield broker


@pytest.fixture(scope="session")
def kafka(local_kafka: LocalKafka | None) -> str:
    """The bootstrap address of the session's broker (PLAINTEXT)."""
    return local_kafka.bootstrap_servers if local_kafka else os.environ["TEST_KAFKA_BOOTSTRAP"]


@pytest.fixture(scope="session")
def kafka_sasl(local_kafka: LocalKafka | None) -> str:
    """The session broker's SASL/PLAIN listener (user SASL_USER, password SASL_PASSWORD)."""
    if local_kafka is None:
        pytest.skip("the SASL listener exists only on the tests' own broker")
    return local_kafka.sasl_bootstrap_servers


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    return admin_url()


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

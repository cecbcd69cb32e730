"""The hostile-input sweep on PostgreSQL, which refuses what SQLite stores (a NUL in text, an integer past
64 bits): never a 5xx, every 4xx a problem."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from tests.api_sweep import Sweep, sweep
from tests.support import running_app
from tests.unit.test_api_sweep import EVERY_DISTRICT_ROLE, SAMPLES, SERVICES

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("service", SERVICES)
async def test_no_input_makes_a_service_fail_on_postgres(
    service: str, pg_database: Callable[[str], Awaitable[str]]
) -> None:
    async with running_app(service, await pg_database(service)) as (app, client):
        failures = await sweep(client, Sweep(app.openapi(), SAMPLES), EVERY_DISTRICT_ROLE)
    assert not failures, "\n".join(failures[:20])

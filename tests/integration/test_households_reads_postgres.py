"""The household read and the list page on PostgreSQL, byte for byte against the response models (the scenario of
tests/unit/test_households_read_bytes.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from tests.support import running_app
from tests.unit.test_households_read_bytes import check_reads_byte_for_byte

pytestmark = pytest.mark.integration


async def test_reads_answer_what_the_response_models_answer_byte_for_byte(
    pg_database: Callable[[str], Awaitable[str]],
) -> None:
    async with running_app("households", await pg_database("households")) as (app, client):
        await check_reads_byte_for_byte(app, client)

"""Request bodies over the service's ceiling are refused unread, declared or sent in chunks, and change nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from services.households.models import Household
from tests.support import assert_problem, running_app
from tests.unit.test_households_helpers import OFFICE, VILLAGE, count, household, member

LIMIT = 4096


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with running_app("households", await sqlite_url("households"), max_request_bytes=LIMIT) as running:
        yield running


def body(pad: int) -> bytes:
    """A valid registration followed by `pad` bytes of whitespace (still valid JSON)."""
    registration = household("CP-0001", VILLAGE, member("张三", "head", date(1960, 3, 1), seq=1))
    return json.dumps(registration).encode() + b" " * pad


async def chunks(data: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def post(client: Any, content: Any) -> Any:
    return await client.post("/v1/households", content=content, headers={**OFFICE, "content-type": "application/json"})


async def test_a_declared_body_over_the_limit_is_a_413(api: Any) -> None:
    app, client = api
    assert_problem(await post(client, body(LIMIT)), 413)
    assert await count(app, Household) == 0


async def test_a_body_sent_in_chunks_is_counted_and_refused_past_the_limit(api: Any) -> None:
    app, client = api
    problem = assert_problem(await post(client, chunks(body(LIMIT))), 413)
    assert "split" in problem["detail"]
    assert await count(app, Household) == 0
    assert (await post(client, chunks(body(100)))).status_code == 201  # under the limit: served as usual

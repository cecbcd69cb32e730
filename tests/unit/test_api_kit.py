"""The API kit every service uses (`shared.api`): idempotent creates and cursor pages, on a small app of their own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from sqlalchemy import func, select

from shared.messaging.outbox import OutboxMessage
from tests.api_kit_app import notes_app
from tests.support import assert_problem, auth

OFFICE = auth("district_office")


@pytest.fixture
async def client(sqlite_url: Callable[[str], Awaitable[str]]) -> AsyncIterator[httpx.AsyncClient]:
    app = notes_app(await sqlite_url("projects"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


async def recorded(client: httpx.AsyncClient) -> int:
    async with client.app.state.sessions() as session:  # type: ignore[attr-defined]
        return int((await session.scalar(select(func.count()).select_from(OutboxMessage))) or 0)


def key(value: str, headers: dict[str, str] = OFFICE) -> dict[str, str]:
    return {**headers, "Idempotency-Key": value}


async def test_a_retry_with_the_same_key_answers_the_first_result_and_records_nothing(
    client: httpx.AsyncClient,
) -> None:
    first = await client.post("/v1/notes", json={"text": "N-1"}, headers=key("k-1"))
    again = await client.post("/v1/notes", json={"text": "N-1"}, headers=key("k-1"))
    assert first.status_code == 201 and "Idempotency-Replayed" not in first.headers
    assert again.status_code == 200 and again.headers["Idempotency-Replayed"] == "true"
    assert again.json() == first.json()
    assert await recorded(client) == 1


async def test_the_same_key_with_another_body_is_a_conflict(client: httpx.AsyncClient) -> None:
    assert (await client.post("/v1/notes", json={"text": "N-1"}, headers=key("k-1"))).status_code == 201
    assert_problem(await client.post("/v1/notes", json={"text": "N-2"}, headers=key("k-1")), 409)
    assert await recorded(client) == 1


async def test_keys_belong_to_a_caller_and_a_path(client: httpx.AsyncClient) -> None:
    other = auth("district_office", sub="officer-2")
    assert (await client.post("/v1/notes", json={"text": "N-1"}, headers=key("k-1"))).status_code == 201
    assert (await client.post("/v1/notes", json={"text": "N-1"}, headers=key("k-1", other))).status_code == 201
    assert await recorded(client) == 2


async def test_without_a_key_every_request_is_a_new_create(client: httpx.AsyncClient) -> None:
    for _ in range(2):
        assert (await client.post("/v1/notes", json={"text": "N-1"}, headers=OFFICE)).status_code == 201
    assert await recorded(client) == 2


async def test_a_create_that_failed_leaves_its_key_free(client: httpx.AsyncClient) -> None:
    refused = await client.post("/v1/notes", json={"text": "N-1", "refuse": True}, headers=key("k-1"))
    assert_problem(refused, 409)
    assert await recorded(client) == 0
    assert (await client.post("/v1/notes", json={"text": "N-1"}, headers=key("k-1"))).status_code == 201


@pytest.mark.parametrize("bad", ["", "has space", "x" * 101, "semi;colon"])
async def test_an_unusable_key_is_refused(client: httpx.AsyncClient, bad: str) -> None:
    headers = {**OFFICE, "Idempotency-Key": bad}
    assert_problem(await client.post("/v1/notes", json={"text": "N-1"}, headers=headers), 422)
    assert await recorded(client) == 0


async def test_pages_follow_the_cursor_to_the_end(client: httpx.AsyncClient) -> None:
    seen, cursor = [], None
    while True:
        params = {"limit": 10} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/notes", params=params, headers=OFFICE)).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(range(1, 26))


@pytest.mark.parametrize("cursor", ["bm90LWpzb24", "WzEsMl0", "WyJ4Il0", "W3RydWVd", "Wy0xXQ"])
async def test_a_cursor_not_made_by_the_service_is_refused(client: httpx.AsyncClient, cursor: str) -> None:
    body = assert_problem(await client.get("/v1/notes", params={"cursor": cursor}, headers=OFFICE), 422)
    assert "cursor" in body["detail"]


@pytest.mark.parametrize("limit", [0, 501, -1])
async def test_a_page_size_outside_1_to_500_is_refused(client: httpx.AsyncClient, limit: int) -> None:
    assert_problem(await client.get("/v1/notes", params={"limit": limit}, headers=OFFICE), 422)

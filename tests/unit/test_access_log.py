"""One JSON access-log line per request: the route's template (never the path as sent, nor its query string), the
status, the time taken and a request id that the response echoes."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from shared.access_log import HEADER, AccessLog
from shared.error_documents import install_error_handlers
from shared.logs import JsonFormatter
from tests.support import auth, running_app

SECRET = "110101199003077777"  # an ID-card-shaped value a caller might put in a query string


class Captured(logging.Handler):
    """The access log's records, rendered as the services render them."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter("test"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]


@pytest.fixture
def access_log() -> Iterator[Captured]:
    # On the access log's own logger: a service app's start-up replaces the root logger's handlers.
    logger = logging.getLogger("shared.access_log")
    captured, level = Captured(), logger.level
    logger.addHandler(captured)
    logger.setLevel(logging.DEBUG)
    try:
        yield captured
    finally:
        logger.removeHandler(captured)
        logger.setLevel(level)


def small_app() -> FastAPI:
    app = FastAPI()

    @app.get("/v1/households/{household_id}")
    async def read(household_id: str, limit: int = 10) -> dict[str, Any]:
        return {"id": household_id, "limit": limit}

    @app.get("/livez")
    async def livez() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(AccessLog)
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=small_app()), base_url="http://test") as c:
        yield c


async def test_a_request_is_logged_with_its_route_template_and_never_its_path_or_query(
    client: httpx.AsyncClient, access_log: Captured
) -> None:
    response = await client.get(f"/v1/households/HH-{SECRET}", params={"limit": "5", "id_number": SECRET})
    assert response.status_code == 200
    [entry] = access_log.entries
    assert entry["level"] == "info" and entry["logger"] == "shared.access_log"
    assert entry["method"] == "GET"
    assert entry["route"] == "/v1/households/{household_id}"
    assert entry["status"] == 200
    assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] >= 0
    assert entry["request_id"] == response.headers[HEADER]
    assert SECRET not in access_log.lines[0] and "id_number" not in access_log.lines[0]


async def test_a_request_no_route_matches_is_a_404_without_a_route(
    client: httpx.AsyncClient, access_log: Captured
) -> None:
    response = await client.get(f"/people/{SECRET}")
    assert response.status_code == 404
    [entry] = access_log.entries
    assert entry["status"] == 404 and entry["route"] is None
    assert SECRET not in access_log.lines[0]


async def test_an_invalid_request_is_logged_with_its_422(client: httpx.AsyncClient, access_log: Captured) -> None:
    response = await client.get("/v1/households/h-1", params={"limit": "many"})
    assert response.status_code == 422
    [entry] = access_log.entries
    assert (entry["status"], entry["route"]) == (422, "/v1/households/{household_id}")
    assert "many" not in access_log.lines[0]


async def test_a_well_formed_request_id_is_kept_and_echoed(client: httpx.AsyncClient, access_log: Captured) -> None:
    sent = "gw-2020.05_12-" + "a" * 50  # 64 characters
    response = await client.get("/v1/households/h-1", headers={"X-Request-ID": sent})
    assert response.headers[HEADER] == sent
    assert access_log.entries[0]["request_id"] == sent


@pytest.mark.parametrize("sent", [b"a" * 65, b"has space", b"semi;colon", b"", "\u4e2d\u6587".encode()])
async def test_a_malformed_request_id_is_replaced_by_a_new_one(
    client: httpx.AsyncClient, access_log: Captured, sent: bytes
) -> None:
    response = await client.get("/v1/households/h-1", headers={"X-Request-ID": sent})
    echoed = response.headers[HEADER]
    assert echoed.encode() != sent and len(echoed) == 32 and int(echoed, 16) >= 0
    assert access_log.entries[0]["request_id"] == echoed


async def test_each_request_without_an_id_gets_its_own(client: httpx.AsyncClient, access_log: Captured) -> None:
    first = (await client.get("/v1/households/h-1")).headers[HEADER]
    second = (await client.get("/v1/households/h-1")).headers[HEADER]
    assert first != second
    assert [e["request_id"] for e in access_log.entries] == [first, second]


async def test_health_probes_are_logged_below_info(client: httpx.AsyncClient, access_log: Captured) -> None:
    response = await client.get("/livez")
    assert response.status_code == 200 and HEADER in response.headers
    assert [e["level"] for e in access_log.entries] == ["debug"]


async def test_every_service_logs_its_requests(sqlite_url: Any, access_log: Captured) -> None:
    async with running_app("households", await sqlite_url("households")) as (_, client):
        missing = uuid4()
        response = await client.get(f"/v1/households/{missing}?q={SECRET}", headers=auth("district_office"))
        assert response.status_code == 404
        await client.get("/readyz")
    requests = [e for e in access_log.entries if e["level"] == "info"]
    assert [(e["route"], e["status"]) for e in requests] == [("/v1/households/{household_id}", 404)]
    assert requests[0]["request_id"] == response.headers[HEADER]
    assert not any(str(missing) in line or SECRET in line for line in access_log.lines)


async def test_a_500_names_its_request_for_the_operators() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/v1/broken")
    async def broken() -> None:
        raise RuntimeError(SECRET)

    app.add_middleware(AccessLog)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/v1/broken", headers={HEADER: "req-500"})
    assert response.status_code == 500
    assert response.headers[HEADER] == "req-500"
    assert "req-500" in response.json()["detail"] and SECRET not in response.text

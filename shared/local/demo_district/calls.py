"""The demo district's requests: a running service's API called concurrently (at most `IN_FLIGHT` requests at once),
signed with the development JWT secret as the small demo's are (`demo_projects_load.signed`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import httpx

from shared.local.demo_projects_load import OFFICE, signed
from shared.local.demo_subsidies import PATIENCE_S, DemoError

IN_FLIGHT = 24
T = TypeVar("T")
R = TypeVar("R")

__all__ = ["OFFICE", "Calls", "each", "signed"]


class Calls:
    """One service's API. A 503 (on SQLite the service's own consumer writing at that moment: the request refused
    whole) is sent again, under a new Idempotency-Key when it had one (a refused attempt may keep its claim of the key:
    see demo.Patient); any other answer but the ones expected is a DemoError naming the request."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.gate = asyncio.Semaphore(IN_FLIGHT)

    async def send(
        self,
        method: str,
        path: str,
        who: dict[str, str],
        *,
        key: str | None = None,
        ok: tuple[int, ...] = (200, 201),
        **kwargs: Any,
    ) -> Any:
        async with self.gate:
            deadline = asyncio.get_running_loop().time() + PATIENCE_S
            attempt = 0
            while True:
                attempt += 1
                headers = who | ({"Idempotency-Key": f"{key}-{attempt}"} if key else {})
                response = await self.client.request(method, path, headers=headers, **kwargs)
                if response.status_code != 503 or asyncio.get_running_loop().time() > deadline:
                    break
                await asyncio.sleep(min(0.2 * attempt, 2.0))
        if response.status_code not in ok:
            raise DemoError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    async def get(self, path: str, who: dict[str, str] = OFFICE, **params: Any) -> Any:
        return await self.send("GET", path, who, params=params)

    async def items(self, path: str, who: dict[str, str] = OFFICE, **params: Any) -> list[dict[str, Any]]:
        """Every item of a list, page by page."""
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = await self.get(path, who, limit=500, **params, **({"cursor": cursor} if cursor else {}))
            found += page["items"]
            if not (cursor := page["next_cursor"]):
                return found


async def each(items: Iterable[T], call: Callable[[T], Awaitable[R]]) -> list[R]:
    """`call` of every item, concurrently (each service's `Calls` bounds how many are in flight)."""
    return list(await asyncio.gather(*(call(item) for item in items)))

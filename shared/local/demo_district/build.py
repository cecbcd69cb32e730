"""Build the demo district in a running platform: the households (the import, then the half year through the
households API), the programmes paid through subsidies, the projects, posts, payroll and 双提升 plan, and the
findings rectified in audit — in that order (the projects themselves load while subsidies pays: nothing of them
reaches households or subsidies), each part through the services' public APIs (and the import). Building again
changes nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx

from shared.local.demo_district import findings, half_year, households, projects, subsidies
from shared.local.demo_district.calls import Calls
from shared.local.demo_district.findings import Rectification
from shared.local.demo_district.population import FULL, Population, Targets
from shared.local.demo_subsidies import DemoError
from shared.service_index import SERVICES


class Built(list[str]):
    """The summary's lines (a list: `poverty up` and `poverty demo` print them), and what audit holds of the half
    year's rectification (for the loop check to compare with the report)."""

    def __init__(self, lines: list[str], rectification: Rectification) -> None:
        super().__init__(lines)
        self.rectification = rectification


def build(urls: dict[str, str], databases: dict[str, str], *, households_count: int = FULL) -> Built:
    """Build the district of `households_count` households (the report's 3,452 unless fewer are asked for) in the
    platform at `urls` (by service), whose databases are `databases` (by service); the summary's lines."""
    return asyncio.run(_build(urls, databases, Population(Targets().scaled(households_count))))


async def _reachable(api: dict[str, Calls]) -> None:
    """Every service answers, before anything is written: else DemoError naming those that do not."""

    async def ready(name: str) -> str | None:
        try:
            await api[name].client.get("/livez")
        except httpx.HTTPError as exc:
            return f"{name} ({api[name].client.base_url}: {type(exc).__name__})"
        return None

    if down := [name for name in await asyncio.gather(*map(ready, SERVICES)) if name]:
        raise DemoError(f"not reachable: {', '.join(down)}")


@asynccontextmanager
async def _apis(urls: dict[str, str]) -> AsyncIterator[dict[str, Calls]]:
    async with AsyncExitStack() as stack:
        clients = {
            name: await stack.enter_async_context(httpx.AsyncClient(base_url=urls[name], timeout=120))
            for name in SERVICES
        }
        yield {name: Calls(client) for name, client in clients.items()}


async def _build(urls: dict[str, str], databases: dict[str, str], population: Population) -> Built:
    started = time.monotonic()
    async with _apis(urls) as api:
        await _reachable(api)
        created = await households.register(population, databases["households"])
        found = await households.registered(api["households"], population)
        ids = {code: household["id"] for code, household in found.items()}
        await households.department_data(api["households"], population)
        await half_year.record(api["households"], population, ids)
        lines = [
            f"demo district: {len(found)} households ({created} imported now), "
            f"{len(population.people)} people in {len({h.area_code for h in population.homes})} villages",
        ]
        paid, loaded = await asyncio.gather(
            subsidies.pay(urls["subsidies"], databases["subsidies"], population, found),
            projects.stock(urls["projects"]),
        )
        lines += paid
        lines += await projects.load(urls, databases, population, found, loaded)
        audit, rectification = await findings.rectify(api["audit"], databases["audit"], population, found)
    return Built([*lines, *audit, f"built in {time.monotonic() - started:.0f} s"], rectification)

"""Reading a service's metrics as Prometheus does: GET its metrics port and parse the text exposition."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.kafka_support import eventually


@dataclass(frozen=True)
class Scrape:
    """One scrape's samples: (sample name, labels) -> value."""

    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples named `name` whose labels include `labels` (0 when there is none)."""
        wanted = set(labels.items())
        return sum(v for (sample, have), v in self.samples.items() if sample == name and wanted <= have)

    def since(self, earlier: Scrape, name: str, **labels: str) -> float:
        """How much a counter grew since `earlier`."""
        return self.value(name, **labels) - earlier.value(name, **labels)

    def has(self, name: str) -> bool:
        return any(sample == name for sample, _ in self.samples)


async def scrape(url: str) -> Scrape:
    """The metrics at `url` (http://host:METRICS_PORT/metrics)."""
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(url)
    response.raise_for_status()
    samples = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    return Scrape(samples)


async def scraped_until(url: str, holds: Callable[[Scrape], bool], *, timeout: float = 15.0) -> Scrape:
    """Scrape until `holds(scrape)`; the scrape that shows it."""
    found: list[Scrape] = []

    async def check() -> bool:
        found[:] = [await scrape(url)]
        return holds(found[0])

    await eventually(check, timeout=timeout)
    return found[0]


def metrics_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/metrics"

"""Each service process serves its metrics on a port of its own, never on its API's, and says there that it is
connected to Kafka and (one process per database) leads its outbox relay."""

from __future__ import annotations

import pytest

from shared.service_index import SERVICES
from tests.e2e.conftest import Platform
from tests.metrics_support import scrape, scraped_until

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("service", SERVICES)
async def test_metrics_are_on_the_metrics_port_only(platform: Platform, service: str) -> None:
    process = platform.services[service]
    before = await scrape(process.metrics_url)
    async with platform.client(service) as client:
        assert (await client.get("/metrics")).status_code == 404
        assert (await client.get("/readyz")).status_code == 200
    after = await scraped_until(
        process.metrics_url,
        lambda s: s.value("poverty_kafka_connected") == 1 and s.value("poverty_relay_leader") == 1,
    )
    readiness = {"route": "/readyz", "method": "GET", "status": "200"}
    assert after.since(before, "poverty_http_requests_total", **readiness) == 1
    assert after.since(before, "poverty_http_requests_total", route="/metrics") == 0  # the API never served it
    assert after.since(before, "poverty_http_requests_total", route="unmatched", status="404") == 1
    assert after.value("poverty_db_pool_size") == 20  # PostgreSQL: 10, and 10 more in overflow

"""Benchmark: a service's part of the half-year report (`GET /v1/report`) on a district and on a province.

    .venv/bin/python bench/report_growth.py                        # the databases bench/growth.py --keep left
    .venv/bin/python bench/report_growth.py --sizes 1000,1000000 --rounds 5

For households and audit, against the databases `bench/growth.py --keep` seeded (`bench_growth_<service>_<size>`),
the service's app in this process (Kafka off) answers `GET /v1/report` for the district's 2020 first half and for
one township, `--rounds` times each; the median is printed beside the raw baseline on the same database in the same
run: asyncpg alone counting the service's biggest table once (`SELECT count(*)`), the least a figure over the whole
register can cost. The ratio says how many such scans a whole part costs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from shared.auth import issue_token
from shared.local.databases import admin_url
from shared.service_index import create_app, load_settings
from shared.settings import DEV_JWT_SECRET

BIGGEST = {"households": "member", "audit": "finding"}
PERIOD = {"from": "2020-01-01", "to": "2020-06-30"}
TOWNSHIP = "371523101"


async def median_ms(call: Callable[[], Awaitable[object]], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def raw_scan_ms(dsn: str, table: str, rounds: int) -> float:
    connection = await asyncpg.connect(dsn)
    try:
        return await median_ms(lambda: connection.fetchval(f"SELECT count(*) FROM {table}"), rounds)
    finally:
        await connection.close()


async def report_ms(service: str, url: str, rounds: int) -> tuple[float, float, int]:
    settings = load_settings(service, database_url=url, kafka_enabled=False, metrics_port=0, log_level="WARNING")
    app = create_app(service, settings)
    token = issue_token(DEV_JWT_SECRET, "bench", ["district_office"])
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600) as client,
    ):

        async def part(area: str | None) -> httpx.Response:
            params = PERIOD | ({"area_code": area} if area else {})
            response = await client.get("/v1/report", params=params, headers=headers)
            response.raise_for_status()
            return response

        figures = len((await part(None)).json()["figures"])  # also warms the caches
        district = await median_ms(lambda: part(None), rounds)
        township = await median_ms(lambda: part(TOWNSHIP), rounds)
    return district, township, figures


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,1000000")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    base = make_url(admin_url())
    print("| service | households | figures | district ms | township ms | raw count(*) ms | district / raw |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for size in (int(s) for s in args.sizes.split(",")):
        for service, table in BIGGEST.items():
            url = base.set(database=f"bench_growth_{service}_{size}")
            dsn = url.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
            raw = await raw_scan_ms(dsn, table, args.rounds)
            served = url.render_as_string(hide_password=False)
            district, township, figures = await report_ms(service, served, args.rounds)
            print(
                f"| {service} | {size:,} | {figures} | {district:,.0f} | {township:,.0f} | {raw:,.0f} "
                f"| {district / raw:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    asyncio.run(main())

"""Benchmark: the CPU one read request costs inside the households app, in process, against a bare FastAPI app.

    .venv/bin/python bench/request_cost.py [--households 1000] [--requests 2000] [--rounds 5] [--concurrency 8]

`rest_api.py` measures the service as it runs (uvicorn, wrk and PostgreSQL sharing two cores), which this host moves
by tens of percent from one run to the next. This one calls the apps as ASGI applications in this process, with no
server and no socket but PostgreSQL's, and reads this process's CPU (`time.process_time`) a request: what the app
itself costs, middleware, routing, dependencies, the database read and the body. Seeds a scratch database with
`--households` households (the bulk import), starts the households app (its lifespan: pools, token verifier; Kafka
off; the access log written to a file), and for each path runs rounds of `--requests` requests, `--concurrency` at a
time, alternating three apps:

- bare FastAPI answering a body of the same size from memory (the issue's raw baseline);
- bare FastAPI reading the same columns with bare asyncpg, one statement a request as the service does, and
  answering them as FastAPI does a route's dict (the raw libraries doing the same work: the floor of the read);
- the service.

The paths:

- GET one household with its members (a different household each request),
- GET a list page of 20 households with their members (the township changing each request).

Prints, for each path, the fastest round of each app in CPU ms a request (and PostgreSQL's for the service), the
ratio bare / service (the share of the service's cost that FastAPI itself would spend answering the same body), and
the ratios bare / bare + asyncpg (the most any read of the database could reach) and bare + asyncpg / service.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import rest_api
import uvloop
from cpu import machine_speed, server_cpu_s
from fastapi import FastAPI

from services.households.api.deps import HOUSEHOLD_SOURCES, MEMBER_SOURCES
from services.households.app import create_app
from services.households.settings import HouseholdsSettings
from shared.auth import issue_token
from shared.collector import settle_heap
from shared.db import create_engine
from shared.local.databases import admin_url, asyncpg_options, scratch_database
from shared.settings import DEV_JWT_SECRET

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
PATHS = ("get_household", "list_page")
APPS = ("bare", "bare_asyncpg", "service")

_H = ", ".join(f"h.{c}" for c in HOUSEHOLD_SOURCES)
_M = ", ".join(f"m.{c} AS member_{c}" for c in MEMBER_SOURCES)
HOUSEHOLD_SQL = (  # the service's read: the household, its helper cadre's login, its members
    f"SELECT {_H}, c.subject, {_M} FROM household h LEFT JOIN helpercadre c ON c.id = h.helper_cadre_id "
    "LEFT JOIN member m ON m.household_id = h.id WHERE h.id = $1 ORDER BY m.birth_date, m.id"
)
PAGE_SQL = (  # the service's list page: a township's first households by code, with their members
    f"SELECT {_H}, {_M} FROM (SELECT * FROM household WHERE area_code LIKE $1 || '%' "
    "ORDER BY household_code LIMIT $2) h LEFT JOIN member m ON m.household_id = h.id "
    "ORDER BY h.household_code, m.birth_date, m.id"
)


def bare_reading_app(pool: asyncpg.Pool) -> FastAPI:
    """Bare FastAPI and bare asyncpg reading what the service's reads read, in one statement each, and answering
    the rows as dicts (FastAPI encodes them: no response model)."""
    app = FastAPI()
    width = len(HOUSEHOLD_SOURCES)

    def members_of(rows: list[asyncpg.Record], start: int) -> list[dict[str, Any]]:
        return [dict(zip(MEMBER_SOURCES, row[start:], strict=True)) for row in rows if row[start] is not None]

    @app.get("/household/{household_id}")
    async def household(household_id: UUID) -> Any:
        rows = await pool.fetch(HOUSEHOLD_SQL, household_id)
        return dict(zip(HOUSEHOLD_SOURCES, rows[0][:width], strict=True)) | {"members": members_of(rows, width + 1)}

    @app.get("/households")
    async def households(area_code: str, limit: int) -> Any:
        grouped: dict[UUID, list[asyncpg.Record]] = {}
        for row in await pool.fetch(PAGE_SQL, area_code, limit):
            grouped.setdefault(row[0], []).append(row)
        items = [
            dict(zip(HOUSEHOLD_SOURCES, rows[0][:width], strict=True)) | {"members": members_of(rows, width)}
            for rows in grouped.values()
        ]
        return {"items": items, "next_cursor": None}

    return app


async def get(app: App, path: str, query: str, headers: list[tuple[bytes, bytes]]) -> bytes:
    """The body of a GET answered 200 by `app`, called as an ASGI application."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    body = b"".join(message.get("body", b"") for message in sent[1:])
    if sent[0]["status"] != 200:
        raise SystemExit(f"GET {path}?{query} answered {sent[0]['status']}: {body[:300]!r}")
    return body


Request = tuple[str, str]  # path, query string


def requests_of(path: str, ids: Sequence[str], townships: Sequence[str], service: bool) -> list[Request]:
    if path == "get_household":
        prefix = "/v1/households/" if service else "/household/"
        return [(prefix + household_id, "") for household_id in ids]
    listed = "/v1/households" if service else "/households"
    return [(listed, f"limit={rest_api.LIST_LIMIT}&area_code={township}") for township in townships]


async def cpu_ms_a_request(
    app: App, requests: list[Request], headers: list[tuple[bytes, bytes]], count: int, concurrency: int
) -> float:
    async def worker(offset: int) -> None:
        for n in range(offset, count, concurrency):
            path, query = requests[n % len(requests)]
            await get(app, path, query, headers)

    started = time.process_time()
    await asyncio.gather(*(worker(k) for k in range(concurrency)))
    return 1000 * (time.process_time() - started) / count


async def measure(args: argparse.Namespace, url: str, log: Path) -> dict[str, dict[str, list[float]]]:
    ids, villages, _, _ = await rest_api.pick(url)
    townships = rest_api.townships_of(villages)
    token = issue_token(DEV_JWT_SECRET, "bench-officer", ["district_office"], ttl_s=3600)
    headers = [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}".encode())]
    settings = HouseholdsSettings(database_url=url, kafka_enabled=False, metrics_port=0, environment="dev")
    engine = create_engine(url)
    results: dict[str, dict[str, list[float]]] = {p: {a: [] for a in (*APPS, "database")} for p in PATHS}
    pool = await asyncpg.create_pool(**asyncpg_options(url), min_size=4, max_size=8)
    with log.open("w") as lines, contextlib.redirect_stdout(lines):  # the access log: a line a request, as in a pod
        service = create_app(settings)
        async with service.router.lifespan_context(service):
            served = {p: requests_of(p, ids, townships, service=True) for p in PATHS}
            answers = {p: json.loads(await get(service, *served[p][0], headers)) for p in PATHS}
            bare = rest_api.bare_app({"household": answers["get_household"], "list": answers["list_page"]})
            apps: dict[str, App] = {"bare": bare, "bare_asyncpg": bare_reading_app(pool)}
            plain = {p: requests_of(p, ids, townships, service=False) for p in PATHS}
            for p in PATHS:  # warm-up: statements prepared, caches filled
                await cpu_ms_a_request(service, served[p], headers, args.requests // 4, args.concurrency)
                for app in apps.values():
                    await cpu_ms_a_request(app, plain[p], headers, args.requests // 4, args.concurrency)
            settle_heap()  # as the service's server does once started
            for _ in range(args.rounds):
                for p in PATHS:
                    for name, app in apps.items():
                        results[p][name].append(
                            await cpu_ms_a_request(app, plain[p], headers, args.requests, args.concurrency)
                        )
                    before = await server_cpu_s(engine)
                    results[p]["service"].append(
                        await cpu_ms_a_request(service, served[p], headers, args.requests, args.concurrency)
                    )
                    after = await server_cpu_s(engine)
                    if before is not None and after is not None:
                        results[p]["database"].append(1000 * (after - before) / args.requests)
    await pool.close()
    await engine.dispose()
    return results


def report(results: dict[str, dict[str, list[float]]], args: argparse.Namespace) -> None:
    rounds = f"{args.rounds} rounds of {args.requests:,} requests, {args.concurrency} at a time"
    print(f"\n{args.households:,} households; {rounds}; CPU ms a request, fastest round / median")
    print(
        "| path | bare FastAPI | bare FastAPI + asyncpg | service | PostgreSQL (fastest) | bare / service "
        "| bare / bare + asyncpg | bare + asyncpg / service |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for path, runs in results.items():
        fastest = {a: min(runs[a]) for a in APPS}
        cells = " | ".join(f"{fastest[a]:.3f} / {statistics.median(runs[a]):.3f}" for a in APPS)
        db = f"{min(runs['database']):.3f}" if runs["database"] else "not here"
        bare, raw, service = (fastest[a] for a in APPS)
        print(f"| {path} | {cells} | {db} | {bare / service:.2f} | {bare / raw:.2f} | {raw / service:.2f} |")


async def main(args: argparse.Namespace) -> None:
    async with scratch_database(args.admin_url, "bench_request_cost") as url:
        started = time.perf_counter()
        await rest_api.seed(url, args.households)
        print(f"seeded {args.households:,} households in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        print(f"machine speed before: {machine_speed()}", file=sys.stderr)
        with tempfile.TemporaryDirectory() as work:
            results = await measure(args, url, Path(work) / "access.log")
        print(f"machine speed after: {machine_speed()}", file=sys.stderr)
    report(results, args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--admin-url", default=admin_url())
    uvloop.run(main(parser.parse_args()))  # the service's event loop under uvicorn

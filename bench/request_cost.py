"""Benchmark: the CPU one request costs inside the households app, in process, against bare FastAPI, and against bare
FastAPI with bare asyncpg doing the same reads and writes.

    .venv/bin/python bench/request_cost.py [--households 1000] [--requests 2000] [--rounds 5] [--concurrency 8]

`rest_api.py` measures the service as it runs (uvicorn, wrk and PostgreSQL sharing two cores), which this host moves
by tens of percent from one run to the next. This one calls the apps as ASGI applications in this process, with no
server and no socket but PostgreSQL's, and reads this process's CPU (`time.process_time`) a request: what the app
itself costs, middleware, routing, dependencies, the database read and the body. Seeds a scratch database with
`--households` households (the bulk import), starts the households app (its lifespan: pools, token verifier; Kafka
off; the access log written to a file), and for each path runs rounds of `--requests` requests, `--concurrency` at a
time, alternating three apps:

- bare FastAPI answering a body of the same size from memory (the issue's raw baseline);
- bare FastAPI with bare asyncpg, running the statements the service runs (a read: one statement; a visit: the
  household locked, the Idempotency-Key claimed, the visit, its history line, its event in the outbox with the
  relays' wake-up, and the key's answer, in one transaction) and answering a dict as FastAPI does (the raw
  libraries doing the same work: the floor);
- the service.

The paths:

- GET one household with its members (a different household each request),
- GET a list page of 20 households with their members (the township changing each request),
- POST a visit (a different household and a fresh Idempotency-Key each request; no housing grade, so no appraisal).

Prints, for each path, the fastest round of each app in CPU ms a request (and PostgreSQL's for the service), the
ratio bare / service (the share of the service's cost that FastAPI itself would spend answering the same body), and
the ratios bare / bare + asyncpg (the most any use of the database could reach) and bare + asyncpg / service.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import rest_api
import uvloop
from cpu import machine_speed, server_cpu_s
from fastapi import FastAPI, Request

from services.households.api.deps import HOUSEHOLD_SOURCES, MEMBER_SOURCES
from services.households.app import create_app
from services.households.settings import HouseholdsSettings
from shared.auth import issue_token
from shared.collector import settle_heap
from shared.contracts import HOUSEHOLDS_TOPIC
from shared.contracts.households import VisitRecorded
from shared.db import create_engine
from shared.ids import uuid7
from shared.local.databases import admin_url, asyncpg_options, scratch_database
from shared.settings import DEV_JWT_SECRET

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
PATHS = ("get_household", "list_page", "post_visit")
VISIT = {k: v for k, v in rest_api.VISIT.items() if k != "housing_grade"}
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
# The statements of the service's visit (`pg_stat_statements`), each with the columns it needs.
LOCK_HOUSEHOLD = "SELECT id, area_code, helper_cadre_id FROM household WHERE id = $1 FOR UPDATE"
CLAIM_KEY = (
    "INSERT INTO idempotent_request (caller, operation, key, request_hash, created_at) VALUES ($1, $2, $3, $4, $5) "
    "ON CONFLICT DO NOTHING RETURNING key"
)
INSERT_VISIT = (
    "INSERT INTO visit (id, household_id, round, visited_on, visitor, observations, housing_grade) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7)"
)
INSERT_CHANGE = (
    "INSERT INTO householdchange (household_id, changed_at, actor, action, changes) VALUES ($1, $2, $3, $4, $5)"
)
INSERT_EVENT_AND_WAKE = (  # the event and the relays' wake-up in one statement, as the service writes them
    "WITH written AS (INSERT INTO outbox (event_id, topic, key, event_type, source, occurred_at, payload) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING 1) "
    "SELECT pg_notify('outbox', '') WHERE EXISTS (SELECT FROM written)"
)
STORE_ANSWER = "UPDATE idempotent_request SET response_body = $4 WHERE caller = $1 AND operation = $2 AND key = $3"


def bare_asyncpg_app(pool: asyncpg.Pool) -> FastAPI:
    """Bare FastAPI and bare asyncpg running the service's statements, and answering dicts (FastAPI encodes them:
    no response model)."""
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

    @app.post("/household/{household_id}/visits", status_code=201)
    async def visit(household_id: UUID, request: Request) -> Any:
        raw, key = await request.body(), request.headers["idempotency-key"]
        body, now = json.loads(raw), datetime.now(UTC)
        answer = body | {"id": str(uuid7()), "household_id": str(household_id), "problems": []}
        visited_on = date.fromisoformat(body["visited_on"])
        caller = ("bench-officer", f"POST {request.url.path}", key)
        async with pool.acquire() as connection, connection.transaction():
            household = await connection.fetchrow(LOCK_HOUSEHOLD, household_id)
            await connection.fetchval(CLAIM_KEY, *caller, hashlib.sha256(raw).hexdigest(), now)
            row = (household_id, body["round"], visited_on, body["visitor"], body.get("observations", ""), None)
            await connection.execute(INSERT_VISIT, UUID(answer["id"]), *row)
            change = json.dumps({"visit_id": answer["id"], "round": body["round"], "problems": []})
            await connection.execute(INSERT_CHANGE, household_id, now, "bench-officer", "visit.recorded", change)
            event = {"household_id": str(household_id), "visit_id": answer["id"], "area_code": household["area_code"]}
            event |= {"round": body["round"], "visited_on": body["visited_on"], "problem_count": 0}
            kind, source = VisitRecorded.event_type, "/services/households"
            message = (str(uuid7()), HOUSEHOLDS_TOPIC, str(household_id), kind, source, now, json.dumps(event))
            await connection.execute(INSERT_EVENT_AND_WAKE, *message)
            await connection.execute(STORE_ANSWER, *caller, json.dumps(answer))
        return answer

    return app


Call = tuple[str, str, str, bytes]  # method, path, query string, body
Headers = list[tuple[bytes, bytes]]


async def call(app: App, request: Call, headers: Headers) -> bytes:
    """The body of a request answered 200 or 201 by `app`, called as an ASGI application."""
    method, path, query, body = request
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
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
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    answered = b"".join(message.get("body", b"") for message in sent[1:])
    if sent[0]["status"] not in (200, 201):
        raise SystemExit(f"{method} {path}?{query} answered {sent[0]['status']}: {answered[:300]!r}")
    return answered


def requests_of(path: str, ids: Sequence[str], townships: Sequence[str], service: bool) -> list[Call]:
    households = "/v1/households" if service else "/household"
    if path == "get_household":
        return [("GET", f"{households}/{household_id}", "", b"") for household_id in ids]
    if path == "post_visit":
        body = json.dumps(VISIT).encode()
        return [("POST", f"{households}/{household_id}/visits", "", body) for household_id in ids]
    listed = "/v1/households" if service else "/households"
    return [("GET", listed, f"limit={rest_api.LIST_LIMIT}&area_code={township}", b"") for township in townships]


async def cpu_ms_a_request(app: App, requests: list[Call], headers: Headers, count: int, concurrency: int) -> float:
    """A write gets a fresh Idempotency-Key each time: each is a new request, never a replay."""

    async def worker(offset: int) -> None:
        for n in range(offset, count, concurrency):
            request = requests[n % len(requests)]
            fresh = [(b"idempotency-key", uuid.uuid4().hex.encode())] if request[0] == "POST" else []
            await call(app, request, headers + fresh)

    started = time.process_time()
    await asyncio.gather(*(worker(k) for k in range(concurrency)))
    return 1000 * (time.process_time() - started) / count


async def measure(args: argparse.Namespace, url: str, log: Path) -> dict[str, dict[str, list[float]]]:
    ids, villages, _, _ = await rest_api.pick(url)
    townships = rest_api.townships_of(villages)
    token = issue_token(DEV_JWT_SECRET, "bench-officer", ["district_office"], ttl_s=3600)
    headers = [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}".encode())]
    headers.append((b"content-type", b"application/json"))
    settings = HouseholdsSettings(database_url=url, kafka_enabled=False, metrics_port=0, environment="dev")
    engine = create_engine(url)
    results: dict[str, dict[str, list[float]]] = {p: {a: [] for a in (*APPS, "database")} for p in PATHS}
    pool = await asyncpg.create_pool(**asyncpg_options(url), min_size=4, max_size=8)
    with log.open("w") as lines, contextlib.redirect_stdout(lines):  # the access log: a line a request, as in a pod
        service = create_app(settings)
        async with service.router.lifespan_context(service):
            served = {p: requests_of(p, ids, townships, service=True) for p in PATHS}
            fresh = [(b"idempotency-key", uuid.uuid4().hex.encode())]
            answers = {p: json.loads(await call(service, served[p][0], headers + fresh)) for p in PATHS}
            bare = rest_api.bare_app(
                {"household": answers["get_household"], "list": answers["list_page"], "visit": answers["post_visit"]}
            )
            apps: dict[str, App] = {"bare": bare, "bare_asyncpg": bare_asyncpg_app(pool)}
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

"""Benchmark: the households REST API against bare FastAPI + uvicorn on the same machine, in one run, with wrk.

    .venv/bin/python bench/rest_api.py [--households 1000] [--database-url URL] [--paths ...] [--duration 10]
        [--connections 32]

Seeds a scratch PostgreSQL database with `--households` households (through the bulk import), or uses the database
of `--database-url` as it is (one holding 1,000,000 households, say; the service's schema at head), and picks
households from it (`--paths get_household list_page` leaves such a database unchanged). Starts the households
service as it runs in a pod (`poverty serve households`: uvicorn, the access log, tracing and metrics; Kafka off,
so writes leave their events in the outbox) and a bare FastAPI app on the same uvicorn, whose routes answer JSON
bodies of the same sizes as the service's answers. Each path is driven by `wrk` at `--connections` connections,
the bare app first, then the service, each after a short warm-up:

- GET one household with its members (a different household each request),
- GET a list page (`/v1/households?area_code=<a township>&limit=20`, the township changing each request: a
  township holds more than a page at any size of the database, so every page is full and pages compare across sizes),
- POST a visit (a fresh `Idempotency-Key` each request, housing grade A: no problem found),
- POST a household of three members (a fresh code and key each request).

Prints requests/s, latency p50 / p99, the ratio to bare for each path, and the CPU milliseconds each request cost
the service process (read from /proc) and PostgreSQL. wrk comes from the distribution: `apt-get install wrk`.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from cpu import machine_speed, process_cpu_s, server_cpu_s
from fastapi import FastAPI, Request
from sqlalchemy import text

from shared.db import create_engine
from shared.local.databases import admin_url, scratch_database
from shared.migrations import upgrade_to_head
from shared.settings import DEV_JWT_SECRET

VENV_BIN = Path(sys.executable).parent
SERVICE_PORT, BARE_PORT = 18301, 18302
PICKED = 1000  # households the GET and POST scripts choose from
LIST_LIMIT = 20
WARM_UP_S = 2
TOWNSHIPS = ("371523101", "371523102", "371523103", "371523104", "371523105")
VISIT = {"round": 1, "visited_on": "2020-05-12", "visitor": "王帮扶", "housing_grade": "A"}
MEMBERS = [
    {"name": "张三", "relationship_to_head": "head", "birth_date": "1960-01-01", "medical_insured": True},
    {"name": "李四", "relationship_to_head": "spouse", "birth_date": "1962-07-09", "medical_insured": True},
    {"name": "张小明", "relationship_to_head": "son", "birth_date": "2010-05-01", "school_stage": "primary"},
]


# ---- the bare app: FastAPI + uvicorn answering bodies of the service's sizes -------------------------------------


def serve_bare(port: int, bodies_path: str) -> None:
    import uvicorn

    app = bare_app(json.loads(Path(bodies_path).read_text()))
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


def bare_app(bodies: dict[str, Any]) -> FastAPI:
    """FastAPI answering the service's bodies (`bodies_of`) from memory: the raw baseline."""
    app = FastAPI()

    @app.get("/household/{household_id}")
    async def household(household_id: str) -> Any:
        return bodies["household"]

    @app.get("/households")
    async def households(area_code: str, limit: int) -> Any:
        return bodies["list"]

    @app.post("/household/{household_id}/visits", status_code=201)
    async def visit(household_id: str, request: Request) -> Any:
        await request.json()
        return bodies["visit"]

    @app.post("/households", status_code=201)
    async def register(request: Request) -> Any:
        await request.json()
        return bodies["created"]

    return app


# ---- wrk ---------------------------------------------------------------------------------------------------------

LUA_COMMON = """
local counter, thread_id = 0, 0
local nonce = "{nonce}"
wrk.headers["Authorization"] = "Bearer {token}"
wrk.headers["Content-Type"] = "application/json"
local ids = {{{ids}}}
local villages = {{{villages}}}
local townships = {{{townships}}}
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
function init(args) thread_id = tonumber(wrk.thread:get("tid")) or 0; math.randomseed(os.time() + thread_id * 7919) end
local function next_key() counter = counter + 1; return nonce .. "-" .. thread_id .. "-" .. counter end
"""

LUA_REQUESTS = {
    "get_household": 'request = function() return wrk.format("GET", "{one}" .. ids[math.random(#ids)]) end',
    "list_page": (
        'request = function() return wrk.format("GET", "{list}?limit={limit}&area_code=" '
        ".. townships[math.random(#townships)]) end"
    ),
    "post_visit": """
local body = '{visit}'
request = function()
  wrk.headers["Idempotency-Key"] = next_key()
  return wrk.format("POST", "{one}" .. ids[math.random(#ids)] .. "{visits}", nil, body)
end""",
    "post_household": """
local members = '{members}'
request = function()
  local key = next_key()
  wrk.headers["Idempotency-Key"] = key
  local body = '{{"household_code":"' .. key .. '","area_code":"' .. villages[math.random(#villages)]
    .. '","head_name":"张三","members":' .. members .. '}}'
  return wrk.format("POST", "{list}", nil, body)
end""",
}


@dataclass(frozen=True)
class Target:
    """Where a path is served: the service's or the bare app's URLs."""

    base: str
    one: str  # a household's path, up to its id
    list: str
    visits: str  # after a household's id


SERVICE = Target(f"http://127.0.0.1:{SERVICE_PORT}", "/v1/households/", "/v1/households", "/visits")
BARE = Target(f"http://127.0.0.1:{BARE_PORT}", "/household/", "/households", "/visits")


def lua_script(path: str, target: Target, *, token: str, ids: list[str], villages: list[str], nonce: str) -> str:
    common = LUA_COMMON.format(
        nonce=nonce,
        token=token,
        ids=",".join(f'"{i}"' for i in ids),
        villages=",".join(f'"{v}"' for v in villages),
        townships=",".join(f'"{t}"' for t in townships_of(villages)),
    )
    request = LUA_REQUESTS[path].format(
        one=target.one,
        list=target.list,
        visits=target.visits,
        limit=LIST_LIMIT,
        visit=json.dumps(VISIT, ensure_ascii=False),
        members=json.dumps(MEMBERS, ensure_ascii=False),
    )
    return common + request


@dataclass
class WrkResult:
    requests: int
    seconds: float
    per_s: float
    p50_ms: float
    p99_ms: float
    failed: int  # non-2xx answers and socket errors


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def run_wrk(script: Path, base: str, *, duration_s: int, connections: int) -> WrkResult:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration_s}s", "--latency", "-s", str(script), base]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s)", out)
    assert done, out
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    failed = (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, errors.groups())) if errors else 0)
    percentile = {m.group(1): _ms(m.group(2)) for m in re.finditer(r"^\s+(50|99)%\s+(\S+)", out, re.MULTILINE)}
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert rate, out
    return WrkResult(
        requests=int(done.group(1)),
        seconds=_ms(done.group(2) + done.group(3)) / 1000,
        per_s=float(rate.group(1)),
        p50_ms=percentile["50"],
        p99_ms=percentile["99"],
        failed=failed,
    )


# ---- processes ---------------------------------------------------------------------------------------------------


@contextmanager
def started(
    command: list[str], env: dict[str, str], ready_url: str, log_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_ready(ready_url, process, log_path)
            yield process
        finally:
            process.terminate()
            process.wait(30)


def _wait_ready(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url} did not start:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} not ready within 60 s")


def call(method: str, url: str, token: str, body: dict[str, Any] | None = None) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status, answer.read()


# ---- the database ------------------------------------------------------------------------------------------------


def write_csv(path: Path, households: int) -> None:
    """`households` households of one to five members, spread over the villages of five townships."""
    from services.households.domain.imports.rows import OPTIONAL, REQUIRED
    from shared.personal_data import check_digit

    number = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*REQUIRED, *OPTIONAL], restval="")
        writer.writeheader()
        for h in range(households):
            area = f"{TOWNSHIPS[h % len(TOWNSHIPS)]}{h // len(TOWNSHIPS) % 60 + 1:03d}"
            for m in range(h % 5 + 1):
                born = date(1930, 1, 1) + timedelta(days=number % 30_000)
                first17 = f"371523{born:%Y%m%d}{number // 30_000:03d}"
                number += 1
                writer.writerow(
                    {
                        "household_code": f"RB-{h:07d}",
                        "area_code": area,
                        "head_name": "王秀英",
                        "member_name": "王秀英" if m == 0 else "王建国",
                        "relationship_to_head": "head" if m == 0 else "son",
                        "birth_date": born.isoformat(),
                        "id_number": first17 + check_digit(first17),
                        "medical_insured": "true",
                        "labour_capacity": "able",
                    }
                )


async def seed(url: str, households: int) -> None:
    from services.households.domain.imports.importer import HouseholdImporter
    from services.households.domain.imports.sources import open_table
    from services.households.settings import HouseholdsSettings
    from shared.timeutil import district_today, utcnow

    engine = create_engine(url)
    try:
        await upgrade_to_head(engine, "households")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "households.csv"
            write_csv(path, households)
            importer = HouseholdImporter(engine, HouseholdsSettings(), actor="bench")
            with open_table(path) as table:
                now = utcnow()
                await importer.run(table, now=now, today=district_today(now), on_error=print)
    finally:
        await engine.dispose()


async def pick(url: str) -> tuple[list[str], list[str], int, float | None]:
    """Household ids and villages to ask for, the number of households, and PostgreSQL's CPU seconds so far."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            ids = [str(i) for i in (await conn.scalars(text(f"SELECT id FROM household ORDER BY id LIMIT {PICKED}")))]
            villages = list(await conn.scalars(text(f"SELECT DISTINCT area_code FROM household LIMIT {PICKED}")))
            count = int(await conn.scalar(text("SELECT count(*) FROM household")) or 0)
        return ids, villages, count, await server_cpu_s(engine)
    finally:
        await engine.dispose()


async def database_cpu_s(url: str) -> float | None:
    engine = create_engine(url)
    try:
        return await server_cpu_s(engine)
    finally:
        await engine.dispose()


# ---- the run -----------------------------------------------------------------------------------------------------


@dataclass
class Measured:
    path: str
    bare: WrkResult
    service: WrkResult
    service_cpu_ms: float | None
    database_cpu_ms: float | None
    bare_cpu_ms: float | None


PATHS = ("get_household", "list_page", "post_visit", "post_household")


def townships_of(villages: list[str]) -> list[str]:
    """The townships of `villages` (a village code is its township's nine digits and three more)."""
    return sorted({village[:9] for village in villages})


def bodies_of(token: str, ids: list[str], villages: list[str], paths: list[str]) -> dict[str, Any]:
    """The service's answers, one of each path measured: the bare app answers bodies of the same sizes."""
    base, bodies = SERVICE.base, {}
    if "get_household" in paths:
        bodies["household"] = call("GET", f"{base}/v1/households/{ids[0]}", token)
    if "list_page" in paths:
        township = townships_of(villages)[0]
        bodies["list"] = call("GET", f"{base}/v1/households?limit={LIST_LIMIT}&area_code={township}", token)
    if "post_visit" in paths:
        bodies["visit"] = call("POST", f"{base}/v1/households/{ids[0]}/visits", token, VISIT)
    if "post_household" in paths:
        created = {"household_code": f"S{uuid.uuid4().hex[:20]}", "area_code": villages[0], "head_name": "张三"}
        bodies["created"] = call("POST", f"{base}/v1/households", token, {**created, "members": MEMBERS})
    return {name: json.loads(body) for name, (_, body) in bodies.items()}


def measure(args: argparse.Namespace, url: str, work: Path) -> None:
    from shared.auth import issue_token

    ids, villages, count, _ = asyncio.run(pick(url))
    token = issue_token(DEV_JWT_SECRET, "bench-officer", ["district_office"], ttl_s=3600)
    env = {
        "HOUSEHOLDS_DATABASE_URL": url,
        "HOUSEHOLDS_KAFKA_ENABLED": "false",
        "HOUSEHOLDS_PORT": str(SERVICE_PORT),
        "HOUSEHOLDS_METRICS_PORT": "0",
        "HOUSEHOLDS_ENVIRONMENT": "dev",
    }
    service_cmd = [str(VENV_BIN / "poverty"), "serve", "households"]
    with started(service_cmd, env, f"{SERVICE.base}/readyz", work / "service.log") as service:
        bodies = bodies_of(token, ids, villages, args.paths)
        (work / "bodies.json").write_text(json.dumps(bodies, ensure_ascii=False))
        sizes = {k: len(json.dumps(v, ensure_ascii=False).encode()) for k, v in bodies.items()}
        bare_cmd = [sys.executable, __file__, "--serve-bare", str(BARE_PORT), str(work / "bodies.json")]
        with started(bare_cmd, {}, f"{BARE.base}/docs", work / "bare.log") as bare:
            print(f"households in the database: {count:,}; body sizes (bytes): {sizes}", file=sys.stderr)
            print(f"machine speed before: {machine_speed()}", file=sys.stderr)
            results = [
                measure_path(path, args, url, work, token, ids, villages, service.pid, bare.pid) for path in args.paths
            ]
            print(f"machine speed after: {machine_speed()}", file=sys.stderr)
    report(results, args, count)


def measure_path(
    path: str,
    args: argparse.Namespace,
    url: str,
    work: Path,
    token: str,
    ids: list[str],
    villages: list[str],
    service_pid: int,
    bare_pid: int,
) -> Measured:
    nonce = uuid.uuid4().hex[:8]
    runs: dict[str, tuple[WrkResult, float | None, float | None]] = {}
    for name, target, pid in (("bare", BARE, bare_pid), ("service", SERVICE, service_pid)):
        script = work / f"{path}-{name}.lua"
        script.write_text(lua_script(path, target, token=token, ids=ids, villages=villages, nonce=f"{name}{nonce}"))
        run_wrk(script, target.base, duration_s=WARM_UP_S, connections=args.connections)
        script.write_text(lua_script(path, target, token=token, ids=ids, villages=villages, nonce=f"{name}{nonce}x"))
        cpu_before, db_before = process_cpu_s(pid), asyncio.run(database_cpu_s(url))
        result = run_wrk(script, target.base, duration_s=args.duration, connections=args.connections)
        cpu_after, db_after = process_cpu_s(pid), asyncio.run(database_cpu_s(url))
        cpu = _per_request(cpu_before, cpu_after, result.requests)
        db = _per_request(db_before, db_after, result.requests)
        runs[name] = (result, cpu, db)
        print(f"  {path} {name}: {result.per_s:,.0f} req/s, {result.failed} failed", file=sys.stderr)
    bare, bare_cpu, _ = runs["bare"]
    service, service_cpu, db_cpu = runs["service"]
    return Measured(path, bare, service, service_cpu, db_cpu, bare_cpu)


def _per_request(before: float | None, after: float | None, requests: int) -> float | None:
    return None if before is None or after is None or not requests else 1000 * (after - before) / requests


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def report(results: list[Measured], args: argparse.Namespace, count: int) -> None:
    print(f"\n{count:,} households; wrk, {args.connections} connections, {args.duration} s a run")
    print(
        "| path | bare req/s (p50 / p99 ms) | service req/s (p50 / p99 ms) | ratio | CPU ms a request: service / "
        "PostgreSQL / bare | failed |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for m in results:
        b, s = m.bare, m.service
        print(
            f"| {m.path} | {b.per_s:,.0f} ({b.p50_ms:.1f} / {b.p99_ms:.1f}) | {s.per_s:,.0f} ({s.p50_ms:.1f} / "
            f"{s.p99_ms:.1f}) | {s.per_s / b.per_s:.2f} | {_fmt(m.service_cpu_ms)} / {_fmt(m.database_cpu_ms)} / "
            f"{_fmt(m.bare_cpu_ms)} | {b.failed} / {s.failed} |"
        )


async def _with_scratch(args: argparse.Namespace, work: Path) -> None:
    async with scratch_database(args.admin_url, "bench_rest") as url:
        started_at = time.perf_counter()
        await seed(url, args.households)
        print(f"seeded {args.households:,} households in {time.perf_counter() - started_at:.1f} s", file=sys.stderr)
        await asyncio.to_thread(measure, args, url, work)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=1000, help="households seeded in a scratch database")
    parser.add_argument("--database-url", help="an existing households database to read from instead")
    parser.add_argument("--admin-url", default=admin_url())
    parser.add_argument("--duration", type=int, default=10, help="seconds each wrk run lasts")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--paths", nargs="+", choices=PATHS, default=list(PATHS), help="what to measure (reads only: a database kept)"
    )
    parser.add_argument("--serve-bare", nargs=2, metavar=("PORT", "BODIES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(int(args.serve_bare[0]), args.serve_bare[1])
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk (or build it from github.com/wg/wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        if args.database_url:
            measure(args, args.database_url, Path(tmp))
        else:
            asyncio.run(_with_scratch(args, Path(tmp)))


if __name__ == "__main__":
    main()

"""Benchmark: do the platform's paths slow down as the register grows? Each benchmark's platform figures against
a database of 1,000 households and one of 1,000,000, side by side, and how far apart they are (#22: no worse than
10 % apart).

    .venv/bin/python bench/growth.py --keep                  # seed once (minutes), keep the databases for next time
    .venv/bin/python bench/growth.py --benches import,rest --large 100000

Seeds (or finds, kept by an earlier `--keep` run) a households database and an audit database of each size
(`_growth_seed.py`: households with members sealed as the import seals them, their history; audit's known
households and a closed finding for one in ten), starts one local Kafka broker, then runs each benchmark with
`--database-url` against the small and then the large databases, one after the other, and prints their platform
figures and the difference. Each run's whole output is kept in `--logs`. Without `--keep` the databases are
dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from _growth_seed import migrate, seed_audit, seed_households, seeded
from sqlalchemy import text
from sqlalchemy.engine import make_url

from shared.contracts import ALL_TOPICS
from shared.db import create_engine
from shared.local.databases import admin_url
from shared.local.kafka import LocalKafka
from shared.messaging.kafka import ensure_topics

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Size:
    households: int
    households_url: str
    audit_url: str


@dataclass(frozen=True)
class Figure:
    name: str
    pattern: str  # its first group is the figure, in the benchmark's output (the last match counts)
    higher_is_better: bool = True

    def read(self, output: str) -> float | None:
        found = re.findall(self.pattern, output, flags=re.MULTILINE)
        return float(found[-1].replace(",", "")) if found else None


@dataclass(frozen=True)
class Bench:
    script: str
    arguments: Callable[[Size, str, argparse.Namespace], list[str]]
    figures: tuple[Figure, ...]


def _row(path: str, column: int, unit: str = "") -> str:
    """The first number of a markdown table row's `column` (0: the first after the row's label)."""
    return rf"^\| {path} \|" + r"[^|]*\|" * column + rf" ([\d,.]+){unit}"


BENCHES = {
    "import": Bench(
        "households_import.py",
        lambda s, _k, a: ["--households", str(a.import_households), "--database-url", s.households_url],
        (
            Figure("import, households/s", r"^first import: +[\d.]+ s = ([\d,]+) households/s"),
            Figure("import / raw COPY", r"^import / raw COPY: ([\d.]+)"),
        ),
    ),
    "consumer": Bench(
        "consumer_throughput.py",
        lambda s, k, a: (
            f"--events {a.events} --bootstrap {k} --database-url {s.households_url} --audit-database-url {s.audit_url}"
            " --paths raw_asyncpg,one_row,open_finding,audit"
        ).split(),
        tuple(
            figure
            for p in ("one_row", "open_finding", "audit")
            for figure in (
                Figure(f"consumer {p}, events/s", _row(p, 0, " events/s")),
                Figure(f"consumer {p} / raw_asyncpg", rf"^\| {p} \|.*?([\d.]+) of raw_asyncpg"),
            )
        ),
    ),
    "relay": Bench(
        "relay_throughput.py",
        lambda s, k, a: ["--events", str(a.events), "--kafka", k, "--database-url", s.households_url],
        (
            Figure("relay, events/s", r"relay ([\d,]+) events/s"),
            Figure("relay / raw producer", r"ratio relay / raw: median ([\d.]+)"),
        ),
    ),
    "rest": Bench(
        "rest_api.py",
        lambda s, _k, a: ["--database-url", s.households_url, "--duration", str(a.rest_seconds)],
        tuple(
            figure
            for p in ("get_household", "list_page", "post_visit", "post_household")
            for figure in (
                Figure(f"REST {p}, req/s", _row(p, 1)),
                Figure(f"REST {p} / bare", _row(p, 2)),
                # The service's CPU a request: what the database's size could change, and less moved by the host's
                # noise than a rate is.
                Figure(f"REST {p}, service CPU ms a request", _row(p, 3), False),
            )
        ),
    ),
    "audit": Bench(
        "audit_findings.py",
        lambda s, k, a: f"--count {a.findings} --rate 500 --step 0 --kafka {k} --database-url {s.audit_url}".split(),
        (
            Figure("finding -> referral at 500/s, p99 ms", r"latency p50 / p99 / max [\d,]+ / ([\d,]+)", False),
            Figure("finding -> referral, p99 / raw p99", r"^\| 500 \|(?:[^|]*\|){5} ([\d.]+) \|", False),
            Figure("finding -> referral, findings/s end to end", r"throughput +([\d,]+) findings/s"),
        ),
    ),
}


async def _admin(admin: str, statement: str) -> object:
    engine = create_engine(admin)
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")  # CREATE DATABASE refuses a transaction
            result = await conn.execute(text(statement))
            return result.scalar() if result.returns_rows else None
    finally:
        await engine.dispose()


async def prepared_size(admin: str, households: int, processes: int) -> Size:
    """The two databases of a size: kept from an earlier run when they still hold about what this size seeds, else
    made now."""
    urls = []
    for service, table, count in (("households", "household", households), ("audit", "knownhousehold", households)):
        name = f"bench_growth_{service}_{households}"
        url = make_url(admin).set(database=name).render_as_string(hide_password=False)
        exists = await _admin(admin, f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
        # Runs add households (the import, the REST benchmark's writes): past a tenth more, the size is made again.
        if exists and count <= await seeded(url, table) <= count * 1.1:
            await migrate(url, service)  # the schema may have moved on since
            print(f"{name}: kept from an earlier run", file=sys.stderr)
        else:
            await _admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await _admin(admin, f'CREATE DATABASE "{name}"')
            started = time.perf_counter()
            await (seed_households(url, count, processes) if service == "households" else seed_audit(url, count))
            print(f"{name}: seeded {count:,} households in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        urls.append(url)
    return Size(households, urls[0], urls[1])


async def drop(admin: str, size: Size) -> None:
    for url in (size.households_url, size.audit_url):
        await _admin(admin, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


async def settle(size: Size) -> None:
    """Mark the events earlier runs left in the households outbox published, as the service's relay would have
    (the relay benchmark counts on an outbox holding only its own unpublished rows)."""
    engine = create_engine(size.households_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE outbox SET published_at = now() WHERE published_at IS NULL"))
    finally:
        await engine.dispose()


async def run_bench(name: str, bench: Bench, size: Size, run: int, bootstrap: str, args: argparse.Namespace) -> str:
    """The benchmark's standard output (all of it also in the logs)."""
    await settle(size)
    log = args.logs / f"{name}-{size.households}-{run}.log"
    command = [sys.executable, str(HERE / bench.script), *bench.arguments(size, bootstrap, args)]
    with log.open("wb") as errors:
        process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE, stderr=errors)
        out, _ = await process.communicate()
    output = out.decode()
    log.write_text(f"$ {' '.join(command)}\n{output}\n--- stderr ---\n{log.read_text()}")
    if process.returncode:
        print(f"{name} against {size.households:,} households failed ({process.returncode}): see {log}")
    return output


async def outputs_by_size(name: str, sizes: list[Size], bootstrap: str, args: argparse.Namespace) -> list[list[str]]:
    """Each size's outputs of `--rounds` runs, in the order small, large, large, small, ... (a drift of the
    machine during the runs then weighs on both sizes alike)."""
    outputs: list[list[str]] = [[] for _ in sizes]
    for run in range(args.rounds):
        for n in range(len(sizes)) if run % 2 == 0 else reversed(range(len(sizes))):
            outputs[n].append(await run_bench(name, BENCHES[name], sizes[n], run, bootstrap, args))
    return outputs


def compare(name: str, bench: Bench, small: list[str], large: list[str]) -> None:
    """A row per figure: its mean on each size (each run's figure too, for several rounds) and the difference."""
    for figure in bench.figures:
        a, b = [figure.read(out) for out in small], [figure.read(out) for out in large]
        cells = f"{_cell(a)} | {_cell(b)}"
        if None in a or None in b:
            print(f"| {figure.name} | {cells} | not printed: see the logs of {name} |")
            continue
        mean_a, mean_b = _mean(a), _mean(b)
        worse = (mean_a - mean_b) / mean_a if figure.higher_is_better else (mean_b - mean_a) / mean_a
        verdict = "met: not 10 % worse" if worse <= 0.10 else "not met: more than 10 % worse"
        print(f"| {figure.name} | {cells} | {-worse:+.1%} ({verdict}) |")


def _cell(values: list[float | None]) -> str:
    if len(values) == 1 or None in values:
        return " / ".join(_fmt(v) for v in values)
    return f"{_fmt(_mean(values))} ({' / '.join(_fmt(v) for v in values)})"


def _mean(values: list[float | None]) -> float:
    return statistics.fmean(v for v in values if v is not None)


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if value < 1 else f"{value:,.2f}" if value < 10 else f"{value:,.0f}"


async def main(args: argparse.Namespace) -> None:
    args.logs.mkdir(parents=True, exist_ok=True)
    sizes = [await prepared_size(args.admin_url, n, args.processes) for n in (args.small, args.large)]
    try:
        with tempfile.TemporaryDirectory(prefix="bench-growth-") as tmp:
            async with LocalKafka(data_dir=Path(tmp) / "kafka") as broker:
                await ensure_topics(broker.bootstrap_servers, ALL_TOPICS)
                print(f"| figure | {args.small:,} households | {args.large:,} households | large vs small |")
                print("| --- | --- | --- | --- |")
                for name in args.benches.split(","):
                    small, large = await outputs_by_size(name, sizes, broker.bootstrap_servers, args)
                    compare(name, BENCHES[name], small, large)
        print(f"(each run's output: {args.logs}; + is better on the large database, - worse)")
    finally:
        if not args.keep:
            for size in sizes:
                await drop(args.admin_url, size)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--small", type=int, default=1_000, help="households in the small databases")
    p.add_argument("--large", type=int, default=1_000_000, help="households in the large databases")
    p.add_argument("--rounds", type=int, default=1, help="runs of each benchmark on each size (their mean counts)")
    p.add_argument("--keep", action="store_true", help="keep the seeded databases for the next run")
    p.add_argument("--benches", default=",".join(BENCHES), help="which, in order: " + ", ".join(BENCHES))
    p.add_argument("--admin-url", default=admin_url(), help="PostgreSQL where the databases are made")
    p.add_argument("--processes", type=int, default=2, help="processes seeding the households")
    p.add_argument("--import-households", type=int, default=20_000, help="households each import run imports")
    p.add_argument("--events", type=int, default=20_000, help="events each consumer and relay run handles")
    p.add_argument("--findings", type=int, default=5_000, help="findings each audit run publishes at 500/s")
    p.add_argument("--rest-seconds", type=int, default=10, help="seconds each wrk run of the REST benchmark lasts")
    p.add_argument("--logs", type=Path, default=Path(tempfile.gettempdir()) / "bench-growth", help="each run's output")
    return p


if __name__ == "__main__":
    asyncio.run(main(parser().parse_args()))

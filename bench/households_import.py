"""Benchmark: import 100,000 households with their members from CSV into PostgreSQL through the bulk path, against a
raw `COPY` of the same rows.

    .venv/bin/python bench/households_import.py [--households 100000] [--admin-url postgresql+asyncpg://...]
    .venv/bin/python bench/households_import.py --households 20000 --database-url postgresql+asyncpg://...

Generates the CSV (streamed to a temporary file, never held in memory), creates and migrates a fresh
database (or imports into `--database-url`, kept: the file then holds households the database has not seen),
imports the file with the same importer the CLI uses, reads back the rows it wrote (households, members with
their sealed ID numbers, history, outbox events) and times a bare asyncpg `COPY` of them into an empty copy of
the tables (the raw baseline), imports the file a second time (which must change nothing), prints
households/second, the import's share of the raw rate, and memory, and drops the scratch databases.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _households_file import household_code, write_csv
from _raw_copy import copy_into_empty_tables, last_outbox_id, written_rows
from cpu import CpuBill, CpuMeter, descendants, machine_speed, peak_rss_mb
from sqlalchemy import func, select
from sqlmodel import col

from services.households.domain.imports.command import DEFAULT_WORKERS, tune_gc
from services.households.domain.imports.importer import HouseholdImporter, Progress
from services.households.domain.imports.sources import open_table
from services.households.models import Household, Member
from services.households.settings import HouseholdsSettings
from shared.db import create_engine
from shared.local.databases import admin_url, scratch_database
from shared.messaging.outbox import OutboxMessage
from shared.migrations import upgrade_to_head
from shared.timeutil import district_today, utcnow


def rss_mb() -> float:
    """Current resident set size of this process, MB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class Sampler:
    """Progress callback: a line to stderr every tenth of the file, with the memory then (this process's, and the
    peak of the largest worker process so far)."""

    def __init__(self) -> None:
        self.started, self.next_mark = time.monotonic(), 0.1
        self.samples: list[float] = []
        self.worker_peak_mb = 0.0

    def __call__(self, p: Progress) -> None:
        done = p.fraction_read
        if done >= self.next_mark or done >= 1.0:
            rate = p.households / (time.monotonic() - self.started)
            self.samples.append(rss_mb())
            workers = [peak_rss_mb(pid) for pid in descendants(os.getpid())]
            self.worker_peak_mb = max([self.worker_peak_mb, *workers])
            print(
                f"  {done:5.0%}  {p.households:>7,} households  {rate:>6,.0f}/s  rss {self.samples[-1]:.0f} MB",
                file=sys.stderr,
            )
            self.next_mark = done + 0.1


@dataclass
class ImportRun:
    elapsed_s: float
    households_created: int
    bill: CpuBill
    worker_peak_mb: float


async def import_once(url: str, path: Path, label: str, workers: int) -> ImportRun:
    engine = create_engine(url)
    errors: list[object] = []
    try:
        importer = HouseholdImporter(engine, HouseholdsSettings(), actor="bench", workers=workers)
        print(f"{label}:", file=sys.stderr)
        meter = CpuMeter({}, database_url=url, own="import process and its workers")
        before = await meter.read()
        started = time.perf_counter()
        sampler = Sampler()
        with open_table(path) as table:
            now = utcnow()
            report = await importer.run(
                table, now=now, today=district_today(now), on_error=errors.append, on_progress=sampler
            )
        elapsed = time.perf_counter() - started
        bill = CpuBill.between(before, await meter.read(), report.households_seen)
    finally:
        await engine.dispose()
    assert not errors, errors[:5]
    return ImportRun(elapsed, report.households_created, bill, sampler.worker_peak_mb)


async def counts(url: str) -> tuple[int, int, int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            found = [
                int(await conn.scalar(select(func.count()).select_from(t)) or 0)
                for t in (Household, Member, OutboxMessage)
            ]
        return found[0], found[1], found[2]
    finally:
        await engine.dispose()


async def migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine, "households")
    finally:
        await engine.dispose()


async def next_household(url: str) -> int:
    """The number of the first household this benchmark has not imported into the database yet."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            last = await conn.scalar(
                select(func.max(Household.household_code)).where(col(Household.household_code).like("BM-%"))
            )
    finally:
        await engine.dispose()
    return int(last.removeprefix("BM-")) + 1 if last else 0


async def main(args: argparse.Namespace) -> None:
    if args.database_url:
        await migrate(args.database_url)
        await measure(args.database_url, args)
        return
    async with scratch_database(args.admin_url, "bench_households") as url:
        await migrate(url)
        await measure(url, args)


async def measure(url: str, args: argparse.Namespace) -> None:
    first_household = await next_household(url)
    households = range(first_household, first_household + args.households)
    outbox_after = await last_outbox_id(url)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "households.csv"
        started = time.perf_counter()
        rows = write_csv(path, households)
        print(
            f"generated {len(households):,} households / {rows:,} member rows ({path.stat().st_size / 2**20:.0f} MB) "
            f"in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        rss_before = rss_mb()
        speed_before = machine_speed()
        first = await import_once(url, path, "first import", args.workers)
        after_first = await counts(url)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the raw baseline reads rows back
        codes = household_code(households[0]), household_code(households[-1])
        raw = await copy_into_empty_tables(args.admin_url, await written_rows(url, codes, outbox_after))
        second = await import_once(url, path, "second import of the same file", args.workers)
        after_second = await counts(url)
    created = first.households_created
    assert created == len(households) and second.households_created == 0, (created, second.households_created)
    assert after_first == after_second, (after_first, after_second)
    written = ", ".join(f"{n:,} {table}" for table, n in raw.rows.items())
    print(f"\nhouseholds imported: {created:,} ({written} rows)")
    if first_household:
        print(f"into a database that held {after_first[0] - created:,} households before")
    rate = f"{created / first.elapsed_s:,.0f} households/s ({rows / first.elapsed_s:,.0f} members/s)"
    print(f"first import:  {first.elapsed_s:.1f} s = {rate}")
    print(
        f"raw COPY of the same rows into empty tables: {raw.seconds:.2f} s = {created / raw.seconds:,.0f} households/s"
    )
    print(f"import / raw COPY: {raw.seconds / first.elapsed_s:.2f} (the share of the raw rate the import reaches)")
    again = f"{created / second.elapsed_s:,.0f} households/s"
    print(f"second import: {second.elapsed_s:.1f} s = {again}, changed nothing")
    print(
        f"memory: rss {rss_before:.0f} MB before the import, peak rss {peak:.0f} MB in the first import (ru_maxrss)",
        end="",
    )
    worker_peak = max(first.worker_peak_mb, second.worker_peak_mb)
    print(f", largest worker process {worker_peak:.0f} MB; {args.workers} worker process(es)" if args.workers else "")
    print("first import, " + "\n".join(first.bill.lines("household")))
    print("second import, " + "\n".join(second.bill.lines("household")))
    print(f"machine speed: before the imports {speed_before}; after them {machine_speed()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--admin-url", default=admin_url(), help="PostgreSQL where scratch databases are created")
    parser.add_argument(
        "--database-url", help="import into this households database (migrated to head and kept), not a scratch one"
    )
    parser.add_argument(
        "--workers", type=int, default=DEFAULT_WORKERS, help="processes that prepare and write chunks (0: none)"
    )
    arguments = parser.parse_args()
    tune_gc()  # as the import CLI does
    asyncio.run(main(arguments))

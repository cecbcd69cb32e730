"""Benchmark: import 100,000 households with their members from CSV into PostgreSQL through the bulk path.

    .venv/bin/python bench/households_import.py [--households 100000] [--admin-url postgresql+asyncpg://...]

Generates the CSV (streamed to a temporary file, never held in memory), creates and migrates a fresh
database, imports the file with the same importer the CLI uses, imports it a second time (which must change
nothing), prints households/second and memory, and drops the database.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from cpu import CpuBill, CpuMeter, descendants, machine_speed, peak_rss_mb
from sqlalchemy import func, select

from services.households.domain.imports.command import DEFAULT_WORKERS, tune_gc
from services.households.domain.imports.importer import HouseholdImporter, Progress
from services.households.domain.imports.rows import OPTIONAL, REQUIRED
from services.households.domain.imports.sources import open_table
from services.households.models import Household, Member
from services.households.settings import HouseholdsSettings
from shared.db import create_engine
from shared.local.databases import admin_url, scratch_database
from shared.messaging.outbox import OutboxMessage
from shared.migrations import upgrade_to_head
from shared.personal_data import check_digit
from shared.timeutil import district_today, utcnow

TOWNSHIPS = ("371523101", "371523102", "371523103", "371523104", "371523105")
SURNAMES = "王李张刘陈杨赵黄周吴"
GIVEN = ("秀英", "桂兰", "玉珍", "凤英", "淑珍", "建国", "德明", "志强", "海燕", "春梅")
SIZES = (1, 2, 3, 4, 5, 3, 2, 4)  # members per household, 3 on average
FIRST_BIRTH = date(1930, 1, 1)
BIRTH_DAYS = 30_000  # birth dates spread over ~82 years; the sequence digits keep ID numbers unique
DISABLED_EVERY = 20  # one member in twenty holds a disability certificate
DISABILITY = {"disability_type": "physical", "disability_grade": "3", "disability_certified_on": "2019-05-06"}


def id_number(n: int) -> tuple[str, date]:
    """The n-th member's (unique) ID number and birth date."""
    born = FIRST_BIRTH + timedelta(days=n % BIRTH_DAYS)
    first17 = f"371523{born:%Y%m%d}{n // BIRTH_DAYS:03d}"
    return first17 + check_digit(first17), born


def write_csv(path: Path, households: int) -> int:
    """Stream `households` households to `path`, row by row; returns the number of member rows."""
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*REQUIRED, *OPTIONAL], restval="")
        writer.writeheader()
        for h in range(households):
            area = f"{TOWNSHIPS[h % len(TOWNSHIPS)]}{h // len(TOWNSHIPS) % 60 + 1:03d}"
            head = SURNAMES[h % 10] + GIVEN[h // 10 % 10]
            for m in range(SIZES[h % len(SIZES)]):
                number, born = id_number(rows)
                writer.writerow(
                    {
                        "household_code": f"BM-{h:07d}",
                        "area_code": area,
                        "head_name": head,
                        "member_name": head if m == 0 else SURNAMES[h % 10] + GIVEN[(h + m) % 10],
                        "relationship_to_head": "head" if m == 0 else ("spouse" if m == 1 else "son"),
                        "birth_date": born.isoformat(),
                        "id_number": number,
                        "medical_insured": "true" if (h + m) % 7 else "false",
                        "labour_capacity": "able",
                        **(DISABILITY if rows % DISABLED_EVERY == 0 else {}),
                    }
                )
                rows += 1
    return rows


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


async def main(households: int, server_url: str, workers: int) -> None:
    async with scratch_database(server_url, "bench_households") as url:
        engine = create_engine(url)
        await upgrade_to_head(engine, "households")
        await engine.dispose()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "households.csv"
            started = time.perf_counter()
            rows = write_csv(path, households)
            print(
                f"generated {households:,} households / {rows:,} member rows ({path.stat().st_size / 2**20:.0f} MB) "
                f"in {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
            )
            rss_before = rss_mb()
            speed_before = machine_speed()
            first = await import_once(url, path, "first import", workers)
            after_first = await counts(url)
            second = await import_once(url, path, "second import of the same file", workers)
            after_second = await counts(url)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        created = first.households_created
        assert created == households and second.households_created == 0, (created, second.households_created)
        assert after_first == after_second, (after_first, after_second)
        print(f"\nhouseholds imported: {created:,} ({after_first[1]:,} members, {after_first[2]:,} outbox events)")
        rate = f"{households / first.elapsed_s:,.0f} households/s ({rows / first.elapsed_s:,.0f} members/s)"
        print(f"first import:  {first.elapsed_s:.1f} s = {rate}")
        again = f"{households / second.elapsed_s:,.0f} households/s"
        print(f"second import: {second.elapsed_s:.1f} s = {again}, changed nothing")
        print(f"memory: rss {rss_before:.0f} MB before the import, peak rss {peak:.0f} MB (ru_maxrss)", end="")
        worker_peak = max(first.worker_peak_mb, second.worker_peak_mb)
        print(f", largest worker process {worker_peak:.0f} MB; {workers} worker process(es)" if workers else "")
        print("first import, " + "\n".join(first.bill.lines("household")))
        print("second import, " + "\n".join(second.bill.lines("household")))
        print(f"machine speed: before the imports {speed_before}; after them {machine_speed()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--admin-url", default=admin_url())
    parser.add_argument(
        "--workers", type=int, default=DEFAULT_WORKERS, help="processes that prepare and write chunks (0: none)"
    )
    arguments = parser.parse_args()
    tune_gc()  # as the import CLI does
    asyncio.run(main(arguments.households, arguments.admin_url, arguments.workers))

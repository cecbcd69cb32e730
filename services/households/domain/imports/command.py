"""`poverty import FILE.csv|FILE.xlsx [--database-url URL] [--errors errors.csv]`: the import's command line.

Imports households from a CSV file or an XLSX workbook's first sheet (one row per member; a household's
rows together; columns
household_code, area_code, head_name, member_name, relationship_to_head, birth_date, id_number and the
optional medical_insured, labour_capacity, enrolment, school_stage, disability_type, disability_grade,
disability_certified_on).
Progress goes to stderr; every rejected row to the error report (line, field, message: never the value).
Exit status: 0 all rows imported or already present, 1 some rows rejected, 2 the file could not be read.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import sys
import time
from pathlib import Path
from typing import TextIO

from services.households.domain.imports.importer import HouseholdImporter, ImportReport, Progress
from services.households.domain.imports.rows import RowError
from services.households.domain.imports.sources import ImportAborted, open_table
from services.households.settings import HouseholdsSettings
from shared.collector import settle_heap
from shared.db import create_engine
from shared.timeutil import district_today, utcnow

BAR_WIDTH = 30
# This process only reads the file: the workers prepare and write, and wait for the database while it works.
DEFAULT_WORKERS = min(os.cpu_count() or 1, 4)


class ProgressBar:
    """A plain-text progress bar on stderr, redrawn in place."""

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.started, self.drawn = stream, time.monotonic(), False

    def end_line(self) -> None:
        """Leave the bar's line, so that what is written next (a rejected row) starts on its own."""
        if self.drawn:
            self.stream.write("\n")
            self.drawn = False

    def __call__(self, progress: Progress) -> None:
        done = progress.fraction_read
        filled = int(BAR_WIDTH * min(done, 1.0))
        rate = progress.households / max(time.monotonic() - self.started, 1e-9)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self.stream.write(f"\r[{bar}] {done:6.1%}  {progress.households:,} households  {rate:,.0f}/s")
        self.stream.flush()
        self.drawn = True


def _workers(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError("the number of worker processes is a whole number, 0 or more")
    return int(text)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="poverty import", description=__doc__.split("\n")[0])
    parser.add_argument("file", type=Path, help="the CSV file (UTF-8, header row) or XLSX workbook (first sheet)")
    parser.add_argument("--database-url", help="households database (default: HOUSEHOLDS_DATABASE_URL)")
    parser.add_argument("--errors", type=Path, help="write the rejected rows here as CSV (default: stderr)")
    parser.add_argument("--actor", default="import-cli", help="who the history records as importer")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--workers",
        type=_workers,
        default=DEFAULT_WORKERS,
        help=f"processes that prepare and write chunks of households (default {DEFAULT_WORKERS}; 0: this one does)",
    )
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> ImportReport:
    overrides = {"database_url": args.database_url} if args.database_url else {}
    settings = HouseholdsSettings(**overrides)
    engine = create_engine(settings.database_url)
    sink = args.errors.open("w", newline="", encoding="utf-8") if args.errors else sys.stderr
    writer = csv.writer(sink)
    writer.writerow(["line", "field", "message"])

    bar = None if args.quiet else ProgressBar(sys.stderr)

    def on_error(error: RowError) -> None:
        if bar is not None and sink is sys.stderr:
            bar.end_line()
        writer.writerow([error.line, error.field, error.message])

    now = utcnow()  # the run's one time: every household it registers is registered then
    try:
        importer = HouseholdImporter(engine, settings, actor=args.actor, workers=args.workers)
        progress = bar or (lambda _: None)
        with open_table(args.file) as table:
            return await importer.run(
                table, now=now, today=district_today(now), on_error=on_error, on_progress=progress
            )
    finally:
        await engine.dispose()
        if args.errors:
            sink.close()


def tune_gc() -> None:
    """A bulk run allocates millions of short-lived objects and no cycles worth hunting: collect rarely, and
    never walk the long-lived objects loaded at start-up (modules, metadata)."""
    settle_heap()


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    try:
        report = asyncio.run(run(args))
    except (ImportAborted, OSError) as exc:
        print(f"\nimport aborted: {exc}", file=sys.stderr)
        return 2
    print(
        f"\nhouseholds created {report.households_created:,}, members added {report.members_added:,}, "
        f"members already present {report.members_present:,}, rows rejected {report.rows_failed:,}",
        file=sys.stderr,
    )
    return 1 if report.rows_failed else 0

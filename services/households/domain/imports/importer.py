"""The import run: stream the file, prepare and write chunks of households (in worker processes when asked),
report row errors and progress in file order.

Each chunk is one transaction (see `job.ChunkJob`); `writers` chunks are in flight at once in this process,
or one per worker process: the database ingests one chunk while Python prepares the next. Memory is bounded:
at most `writers` chunks (or `workers + 1`) are in flight.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections import deque
from collections.abc import AsyncGenerator, Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import aclosing
from dataclasses import dataclass
from datetime import date, datetime
from itertools import chain, islice

from sqlalchemy.ext.asyncio import AsyncEngine

from services.households.domain.imports.job import ChunkOutcome, WorkerSetup, run_in_worker, start_worker
from services.households.domain.imports.prepare import RawRow
from services.households.domain.imports.rows import RowError, header_problems
from services.households.domain.imports.sources import ImportAborted, Numbered, Table
from services.households.settings import HouseholdsSettings

CHUNK_HOUSEHOLDS = 1000
WRITERS = 2  # chunks in flight at once without worker processes, each in its own transaction


@dataclass
class ImportReport:
    """Totals of a run; row errors go to the `on_error` callback as they happen (not kept here)."""

    households_created: int = 0
    members_added: int = 0
    members_present: int = 0
    rows_failed: int = 0
    households_seen: int = 0

    def add(self, chunk: ChunkOutcome) -> None:
        self.households_seen += chunk.households
        self.households_created += chunk.result.households_created
        self.members_added += chunk.result.members_added
        self.members_present += chunk.result.members_present
        self.rows_failed += len(chunk.result.errors)


@dataclass(frozen=True)
class Progress:
    """Where the run is: bytes read of the file, households processed."""

    fraction_read: float  # of the file, by bytes: 0-1
    households: int


class HouseholdImporter:
    """Imports a CSV file into the households database through the bulk path."""

    def __init__(
        self,
        engine: AsyncEngine,
        settings: HouseholdsSettings,
        *,
        actor: str,
        chunk: int = CHUNK_HOUSEHOLDS,
        workers: int = 0,
        writers: int = WRITERS,
    ) -> None:
        self.engine, self.settings, self.actor = engine, settings, actor
        self.chunk, self.workers, self.writers = chunk, workers, writers

    async def run(
        self,
        table: Table,
        *,
        on_error: Callable[[RowError], None],
        now: datetime,
        today: date,
        on_progress: Callable[[Progress], None] = lambda _: None,
    ) -> ImportReport:
        """Import every household of `table` (see `sources.open_table`), as registered at `now` (on `today`, the
        district's day then: every row of the run is judged and recorded at that one time)."""
        report = ImportReport()
        _, header = next(table.rows, (1, []))
        problems = header_problems(header)
        if problems:
            raise ImportAborted("; ".join(problems))
        setup = WorkerSetup.of(self.settings, self.engine, actor=self.actor, header=header, now=now, today=today)
        raw = _raw_chunks(table.rows, [h.strip() for h in header].index("household_code"), self.chunk)
        async with aclosing(self._outcomes(setup, raw)) as outcomes:
            async for outcome in outcomes:
                report.add(outcome)
                for error in outcome.result.errors:
                    on_error(error)
                on_progress(Progress(table.read_fraction(), report.households_seen))
        return report

    async def _outcomes(self, setup: WorkerSetup, raw: Iterator[list[RawRow]]) -> AsyncGenerator[ChunkOutcome]:
        """The chunks' outcomes in file order, with several chunks in flight."""
        head = list(islice(raw, 2))
        raw = chain(head, raw)
        if self.workers == 0 or len(head) < 2:  # a file of one chunk: starting processes would cost more
            job = setup.job(self.engine)
            started = (asyncio.ensure_future(job.run(rows)) for rows in raw)
            async with aclosing(_in_order(started, self.writers)) as outcomes:
                async for outcome in outcomes:
                    yield outcome
            return
        loop = asyncio.get_running_loop()
        # Workers are forked from a clean server process (no inherited sockets, threads or event loop) that
        # imported the job's modules once: a spawned worker would spend seconds of CPU importing them again.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([start_worker.__module__])
        with ProcessPoolExecutor(self.workers, mp_context=context, initializer=start_worker, initargs=(setup,)) as pool:
            # One chunk more than workers: a worker that finishes finds the next one waiting.
            in_workers = (loop.run_in_executor(pool, run_in_worker, rows) for rows in raw)
            async with aclosing(_in_order(in_workers, self.workers + 1)) as outcomes:
                async for outcome in outcomes:
                    yield outcome


async def _in_order(started: Iterator[asyncio.Future[ChunkOutcome]], limit: int) -> AsyncGenerator[ChunkOutcome]:
    """Start futures from `started` while fewer than `limit` are pending; yield their results in start order."""
    pending: deque[asyncio.Future[ChunkOutcome]] = deque()
    try:
        for future in started:
            pending.append(future)
            if len(pending) >= limit:
                yield await pending.popleft()
        while pending:
            yield await pending.popleft()
    finally:
        # A failed chunk or an abandoned run: chunks in this process roll back; a worker's chunk cannot be
        # interrupted, so it ends (and commits) before the run does.
        for future in pending:
            future.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


def _raw_chunks(reader: Iterator[Numbered], code_at: int, size: int) -> Iterator[list[RawRow]]:
    """The rows after the header in chunks of `size` households (a household's rows stay together)."""
    chunk: list[RawRow] = []
    households, last = 0, None
    for line, fields in reader:
        code = fields[code_at].strip() if len(fields) > code_at else ""
        if code != last:
            if households == size:
                yield chunk
                chunk, households = [], 0
            households, last = households + 1, code
        chunk.append((line, fields))
    if chunk:
        yield chunk

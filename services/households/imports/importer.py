"""The import run: stream the file, prepare chunks of households (in worker processes when asked), write them,
report row errors and progress.

Each chunk is one transaction; two are written at once. If a chunk collides with a concurrent registration
(a unique key taken meanwhile, by another client or by the other chunk when a household's rows are far apart
in the file), it is retried household by household, after the other transaction has ended, so that only a
household still colliding is reported. Memory is bounded: at most `workers + 1 + writers` chunks are in flight.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncEngine

from services.households.imports.prepare import (
    PreparedChunk,
    PreparedUnit,
    RawRow,
    WorkerSetup,
    prepare_in_worker,
    start_worker,
)
from services.households.imports.rows import RowError, missing_columns
from services.households.imports.sources import ImportAborted, Table
from services.households.imports.writer import ChunkConflict, ChunkResult, ChunkWriter
from services.households.settings import HouseholdsSettings
from shared.timeutil import district_today

CHUNK_HOUSEHOLDS = 1000
WRITERS = 2  # chunks written at once, each in its own transaction


@dataclass
class ImportReport:
    """Totals of a run; row errors go to the `on_error` callback as they happen (not kept here)."""

    households_created: int = 0
    members_added: int = 0
    members_present: int = 0
    rows_failed: int = 0
    households_seen: int = 0

    def add(self, chunk: ChunkResult, errors: int) -> None:
        self.households_created += chunk.households_created
        self.members_added += chunk.members_added
        self.members_present += chunk.members_present
        self.rows_failed += errors


@dataclass(frozen=True)
class Progress:
    """Where the run is: bytes read of the file, households processed."""

    share: float  # of the file read, 0-1
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
        self.engine, self.settings, self.chunk, self.workers = engine, settings, chunk, workers
        self.writers = writers
        self.writer = ChunkWriter(actor)

    async def run(
        self,
        table: Table,
        *,
        on_error: Callable[[RowError], None],
        on_progress: Callable[[Progress], None] = lambda _: None,
        today: date | None = None,
    ) -> ImportReport:
        """Import every household of `table` (see `sources.open_table`)."""
        report = ImportReport()
        header = next(table.rows, [])
        missing = missing_columns(header)
        if missing:
            raise ImportAborted("the file lacks the columns: " + ", ".join(missing))
        setup = WorkerSetup.of(self.settings, header, today or district_today())
        raw = _raw_chunks(table.rows, header.index("household_code"), self.chunk)

        async def finish(prepared: PreparedChunk, writing: asyncio.Task[ChunkResult]) -> None:
            result = await writing
            report.add(result, len(prepared.errors) + len(result.errors))
            report.households_seen += len(prepared.units)
            for error in (*prepared.errors, *result.errors):
                on_error(error)
            on_progress(Progress(table.read_share(), report.households_seen))

        # Chunks are written on `writers` connections at once, so that the database ingests one chunk while
        # this process builds the next; they are reported in file order.
        async with asyncio.TaskGroup() as group:
            in_flight: deque[tuple[PreparedChunk, asyncio.Task[ChunkResult]]] = deque()
            async for prepared in self._prepared(setup, raw):
                in_flight.append((prepared, group.create_task(self._write(prepared.units))))
                if len(in_flight) >= self.writers:
                    await finish(*in_flight.popleft())
            while in_flight:
                await finish(*in_flight.popleft())
        return report

    async def _prepared(self, setup: WorkerSetup, raw: Iterator[list[RawRow]]) -> AsyncIterator[PreparedChunk]:
        if self.workers == 0:
            preparer = setup.preparer()
            for rows in raw:
                yield preparer.prepare(rows)
            return
        loop = asyncio.get_running_loop()
        context = multiprocessing.get_context("spawn")  # no inherited sockets, threads or event loop
        with ProcessPoolExecutor(self.workers, mp_context=context, initializer=start_worker, initargs=(setup,)) as pool:
            pending: deque[asyncio.Future[PreparedChunk]] = deque()
            for rows in raw:
                pending.append(loop.run_in_executor(pool, prepare_in_worker, rows))
                if len(pending) > self.workers:
                    yield await pending.popleft()
            while pending:
                yield await pending.popleft()

    async def _write(self, units: list[PreparedUnit]) -> ChunkResult:
        try:
            async with self.engine.begin() as conn:
                return await self.writer.write(conn, units)
        except ChunkConflict:
            return await self._one_by_one(units)

    async def _one_by_one(self, units: list[PreparedUnit]) -> ChunkResult:
        total = ChunkResult()
        for unit in units:
            try:
                async with self.engine.begin() as conn:
                    total.add(await self.writer.write(conn, [unit]))
            except ChunkConflict:
                total.errors.extend(RowError(m.line, "", "registered concurrently; run again") for m in unit.members)
        return total


def _raw_chunks(reader: Iterator[list[str]], code_at: int, size: int) -> Iterator[list[RawRow]]:
    """The rows after the header (line 2 on) in chunks of `size` households (a household's rows stay together)."""
    chunk: list[RawRow] = []
    households, last = 0, None
    for line, fields in enumerate(reader, start=2):
        code = fields[code_at].strip() if len(fields) > code_at else ""
        if code != last:
            if households == size:
                yield chunk
                chunk, households = [], 0
            households, last = households + 1, code
        chunk.append((line, fields))
    if chunk:
        yield chunk

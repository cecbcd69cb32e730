"""One chunk of an import, start to end: prepare its rows, write them in one transaction, retry household by
household on a conflict. The same code runs in the importing process or in a worker process; a worker writes
on its own connection, so prepared rows (UUIDs, dates, ciphertexts) never cross a process boundary: pickling
them cost about as much CPU as preparing them.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from multiprocessing.util import Finalize

from sqlalchemy.ext.asyncio import AsyncEngine

from services.households.domain.imports.prepare import PreparedUnit, Preparer, RawRow
from services.households.domain.imports.rows import RowError
from services.households.domain.imports.writer import ChunkConflict, ChunkResult, ChunkWriter, merge
from services.households.rules.idcard import IdCardVault, parse_hmac_key, parse_keys
from services.households.settings import HouseholdsSettings, KnownAreas
from shared.collector import settle_heap
from shared.db import create_engine

CONCURRENTLY = "registered concurrently; run again"
HOUSEHOLD_ATTEMPTS = 3


@dataclass(frozen=True)
class ChunkOutcome:
    """What a chunk did: households seen in the file, and the write's result with every row error."""

    households: int
    result: ChunkResult


class ChunkJob:
    """Prepares and writes chunks on one engine."""

    def __init__(self, engine: AsyncEngine, preparer: Preparer, writer: ChunkWriter) -> None:
        self.engine, self.preparer, self.writer = engine, preparer, writer

    async def run(self, rows: list[RawRow]) -> ChunkOutcome:
        prepared = self.preparer.prepare(rows)
        errors = list(prepared.errors)
        # Merged once, here: a retry household by household then writes each household's rows of the chunk
        # together, and tells a row repeating a number of its household from a member stored before.
        units = merge(prepared.units, errors)
        result = await self._write(units)
        result.errors[:0] = errors
        result.errors.sort(key=lambda error: error.line)  # in file order, whichever step found them
        return ChunkOutcome(len(prepared.units), result)

    async def _write(self, units: list[PreparedUnit]) -> ChunkResult:
        try:
            async with self.engine.begin() as conn:
                return await self.writer.write(conn, units)
        except ChunkConflict:
            # The conflicting transaction has ended by now (PostgreSQL made this one wait for it), so each
            # household is written again against what it committed.
            return await self._one_by_one(units)

    async def _one_by_one(self, units: list[PreparedUnit]) -> ChunkResult:
        total = ChunkResult()
        for unit in units:
            total.add(await self._write_household(unit))
        return total

    async def _write_household(self, unit: PreparedUnit) -> ChunkResult:
        # Another import may be writing this household too: PostgreSQL refused our duplicate once its transaction
        # committed, or aborted one of two transactions waiting on each other. Each attempt reads again what
        # has committed, so it adds only what is still missing.
        for _ in range(HOUSEHOLD_ATTEMPTS):
            try:
                async with self.engine.begin() as conn:
                    return await self.writer.write(conn, [unit])
            except ChunkConflict:
                continue
        return ChunkResult(errors=[RowError(m.line, "", CONCURRENTLY) for m in unit.members])


@dataclass(frozen=True)
class WorkerSetup:
    """What preparing and writing need (the ID-card keys as configured, the known areas, the database), in a
    form a worker process can be started with."""

    database_url: str = field(repr=False)  # secrets: kept out of reprs, hence out of logs and tracebacks
    actor: str
    idcard_keys: str = field(repr=False)
    idcard_active_kid: str
    idcard_hmac_key: str = field(repr=False)
    areas: KnownAreas
    header: list[str]
    now: datetime  # when the run registers its households
    today: date  # the district's day at `now`
    importer_pid: int = field(default_factory=os.getpid)  # the process that reads the file and starts workers

    @classmethod
    def of(
        cls,
        settings: HouseholdsSettings,
        engine: AsyncEngine,
        *,
        actor: str,
        header: list[str],
        now: datetime,
        today: date,
    ) -> WorkerSetup:
        return cls(
            engine.url.render_as_string(hide_password=False),
            actor,
            settings.idcard_keys.get_secret_value(),
            settings.idcard_active_kid,
            settings.idcard_hmac_key.get_secret_value(),
            KnownAreas(settings.district_code, dict(settings.townships)),
            header,
            now,
            today,
        )

    def job(self, engine: AsyncEngine) -> ChunkJob:
        vault = IdCardVault(parse_keys(self.idcard_keys), self.idcard_active_kid, parse_hmac_key(self.idcard_hmac_key))
        preparer = Preparer(vault, self.areas, self.header, self.today)
        return ChunkJob(engine, preparer, ChunkWriter(self.actor, now=self.now, today=self.today))


@dataclass
class _Worker:
    runner: asyncio.Runner  # one event loop for the worker's life: its engine's connections belong to it
    engine: AsyncEngine
    job: ChunkJob

    def close(self) -> None:
        self.runner.run(self.engine.dispose())
        self.runner.close()


_WORKER: _Worker | None = None


def start_worker(setup: WorkerSetup) -> None:
    """Process-pool initializer: the worker's event loop, its one-connection engine and its job."""
    global _WORKER  # noqa: PLW0603 - one job per worker process
    engine = create_engine(setup.database_url, pool_size=1)
    _WORKER = _Worker(asyncio.Runner(), engine, setup.job(engine))
    # A pool worker ends through multiprocessing's exit path, which skips atexit: close the connection there.
    Finalize(_WORKER, _WORKER.close, exitpriority=10)
    settle_heap()  # like the CLI: the worker only makes short-lived rows
    threading.Thread(target=_exit_without, args=(setup.importer_pid,), name="importer-watch", daemon=True).start()


def _exit_without(importer_pid: int) -> None:
    """End the worker once the importer is gone (killed: the worker, a fork server's child, would live on holding
    a database connection). A chunk in flight is rolled back with the connection; running the import again
    writes it."""
    while True:
        time.sleep(1)
        try:
            os.kill(importer_pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:
            continue  # alive, as another user


def run_in_worker(rows: list[RawRow]) -> ChunkOutcome:
    assert _WORKER is not None, "start_worker runs first"
    return _WORKER.runner.run(_WORKER.job.run(rows))

"""The raw baseline of the bulk import: the rows an import wrote, read back, then written again by bare asyncpg
`COPY` (one per table, one transaction) into an empty, migrated copy of the households tables: the same
indexes, unique keys, foreign keys and triggers, nothing of the import's parsing, checks, sealing or look-ups.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db import create_engine
from shared.local.databases import scratch_database
from shared.migrations import upgrade_to_head

# What one import of the benchmark's file writes, in foreign-key order: a table and which of its rows are the
# import's (the file's household codes run from `first` to `last`; its outbox rows come after `outbox_after`).
_OF_THE_FILE = "household_id IN (SELECT id FROM household WHERE household_code BETWEEN :first AND :last)"
WRITTEN = (
    ("household", "household_code BETWEEN :first AND :last"),
    ("member", _OF_THE_FILE),
    ("householdchange", _OF_THE_FILE),
    ("outbox", "id > :outbox_after"),
)


@dataclass
class RawCopy:
    rows: dict[str, int]
    seconds: float


async def last_outbox_id(url: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(text("SELECT coalesce(max(id), 0) FROM outbox")) or 0)
    finally:
        await engine.dispose()


async def written_rows(url: str, codes: tuple[str, str], outbox_after: int) -> dict[str, tuple[list[str], list[Any]]]:
    """The import's rows by table: column names and records, as stored."""
    engine = create_engine(url)
    found = {}
    try:
        async with engine.connect() as conn:
            for table, which in WRITTEN:
                result = await conn.execute(
                    text(f"SELECT * FROM {table} WHERE {which}"),
                    {"first": codes[0], "last": codes[1], "outbox_after": outbox_after},
                )
                found[table] = (list(result.keys()), [tuple(row) for row in result])
    finally:
        await engine.dispose()
    return found


async def copy_into_empty_tables(admin_url: str, rows: dict[str, tuple[list[str], list[Any]]]) -> RawCopy:
    """Time `COPY` of `rows` into a fresh households database (dropped afterwards), committed as the import
    commits its chunks (`synchronous_commit = off`)."""
    async with scratch_database(admin_url, "bench_households_raw") as url:
        engine = create_engine(url)
        try:
            await upgrade_to_head(engine, "households")
            started = time.perf_counter()
            async with engine.begin() as conn:
                await _copy_all(conn, rows)
            seconds = time.perf_counter() - started
        finally:
            await engine.dispose()
    return RawCopy({table: len(records) for table, (_, records) in rows.items()}, seconds)


async def _copy_all(conn: AsyncConnection, rows: dict[str, tuple[list[str], list[Any]]]) -> None:
    await conn.execute(text("SET LOCAL synchronous_commit = off"))
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    for table, (columns, records) in rows.items():
        await driver.copy_records_to_table(table, records=records, columns=columns)

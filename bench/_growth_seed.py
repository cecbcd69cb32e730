"""Background data for `growth.py`: a households database of N registered households (three members each on
average, ID numbers sealed as the import seals them, one history entry each) and an audit database that knows
them (one `KnownHousehold` each) with a closed finding and its closed task for one household in ten, written by
`COPY` straight into the tables, several processes at once.

The rows are made by the import's own functions (`prepare.household_row`, `member_row`, `change_row`): what the
service would have stored had it imported them. Household ids are fixed by the household's number, so both
databases name the same households.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import uuid
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from typing import Any

from _households_file import GIVEN, SIZES, SURNAMES, TOWNSHIPS, id_number, member_index
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.households.domain.imports.prepare import PreparedUnit, change_row, household_row, member_row
from services.households.domain.imports.rows import MemberRow
from services.households.rules.idcard import IdCardVault
from services.households.settings import HouseholdsConfig, HouseholdsSettings
from shared.db import create_engine
from shared.migrations import upgrade_to_head

SEEDED_IDS = 0x6772_6F77 << 96  # "grow": a seeded household's id is this with its number in the low bits
REGION = "371522"  # the seeded members' ID numbers; the import benchmark's files use 371523
CHUNK = 10_000  # households a transaction
TASK = 50_000  # households a worker process is given at a time
FINDING_EVERY = 10
REGISTERED = datetime(2019, 3, 1, tzinfo=UTC)


def household_id(h: int) -> uuid.UUID:
    return uuid.UUID(int=SEEDED_IDS | h)


def area_of(h: int) -> str:
    return f"{TOWNSHIPS[h % len(TOWNSHIPS)]}{h // len(TOWNSHIPS) % 60 + 1:03d}"


def household_tables(households: range, vault: IdCardVault) -> dict[str, list[dict[str, Any]]]:
    """The rows registering `households` writes, by table."""
    rows: dict[str, list[dict[str, Any]]] = {"household": [], "member": [], "householdchange": []}
    for h in households:
        head = SURNAMES[h % 10] + GIVEN[h // 10 % 10]
        unit = PreparedUnit(f"GR-{h:07d}", area_of(h), head, household_id(h))
        rows["household"].append(household_row(unit, REGISTERED))
        size = SIZES[h % len(SIZES)]
        for m in range(size):
            number, born = id_number(member_index(h, m), REGION)
            name = head if m == 0 else SURNAMES[h % 10] + GIVEN[(h + m) % 10]
            relationship = "head" if m == 0 else ("spouse" if m == 1 else "son")
            facts = {"labour_capacity": "able", "medical_insured": bool((h + m) % 7)}
            rows["member"].append(
                member_row(unit.household_id, MemberRow(0, name, relationship, born, number, facts), vault)
            )
        changes = {"household_code": unit.code, "area_code": unit.area_code, "members": size, "via": "import"}
        rows["householdchange"].append(
            change_row(unit.household_id, "household.registered", changes, actor="bench", now=REGISTERED)
        )
    return rows


def audit_tables(households: range) -> dict[str, list[dict[str, Any]]]:
    """What audit holds of `households`: each known, one in ten with a finding rectified and closed."""
    rows: dict[str, list[dict[str, Any]]] = {"knownhousehold": [], "finding": [], "rectificationtask": []}
    for h in households:
        rows["knownhousehold"].append(
            {"household_id": household_id(h), "area_code": area_of(h), "registered_at": REGISTERED}
        )
        if h % FINDING_EVERY:
            continue
        finding = uuid.UUID(int=SEEDED_IDS | (1 << 80) | h)
        opened, closed = REGISTERED + timedelta(days=30), REGISTERED + timedelta(days=60)
        rows["finding"].append(
            {
                "id": finding,
                "subject_kind": "household",
                "subject_id": str(household_id(h)),
                "area_code": area_of(h),
                "category": "housing",
                "code": "housing_unsafe",
                "severity": "serious",
                "description": "Housing appraised grade C at the visit.",
                "status": "closed",
                "occurrences": 1,
                "source_ref": str(uuid.UUID(int=SEEDED_IDS | (2 << 80) | h)),
                "opened_at": opened,
                "last_seen_at": opened,
                "found_on": date(2019, 3, 30),
                "evidence": json.dumps([]),
                "closed_at": closed,
            }
        )
        rows["rectificationtask"].append(
            {
                "id": uuid.UUID(int=SEEDED_IDS | (3 << 80) | h),
                "finding_id": finding,
                "owner": "bench-owner",
                "deadline": opened + timedelta(days=30),
                "status": "closed",
                "opened_at": opened,
                "starters": json.dumps([]),
                "closed_by": "bench-verifier",
                "closed_at": closed,
                "reopen_count": 0,
            }
        )
    return rows


async def copy_tables(engine: AsyncEngine, tables: dict[str, list[dict[str, Any]]]) -> None:
    """One transaction: each table's rows by `COPY`, in the order given (foreign keys)."""
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL synchronous_commit = off"))
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        for table, rows in tables.items():
            if rows:
                columns = list(rows[0])
                record = itemgetter(*columns)
                await driver.copy_records_to_table(table, records=[record(r) for r in rows], columns=columns)


async def _seed_range(url: str, households: range) -> None:
    vault = HouseholdsConfig.from_settings(HouseholdsSettings()).vault
    engine = create_engine(url)
    try:
        for start in range(households.start, households.stop, CHUNK):
            await copy_tables(engine, household_tables(range(start, min(start + CHUNK, households.stop)), vault))
    finally:
        await engine.dispose()


def seed_range(url: str, households: range) -> None:
    """A worker process's part."""
    asyncio.run(_seed_range(url, households))


async def seeded(url: str, table: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
    finally:
        await engine.dispose()


async def migrate(url: str, service: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine, service)
    finally:
        await engine.dispose()


async def seed_households(url: str, count: int, processes: int) -> None:
    await migrate(url, "households")
    loop = asyncio.get_running_loop()
    parts = [range(s, min(s + TASK, count)) for s in range(0, count, TASK)]
    # Spawned, not forked: a child forked from this running event loop could not run its own.
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        await asyncio.gather(*(loop.run_in_executor(pool, seed_range, url, part) for part in parts))
    await analyse(url, ("household", "member", "householdchange"))


async def seed_audit(url: str, count: int) -> None:
    await migrate(url, "audit")
    engine = create_engine(url)
    try:
        for start in range(0, count, CHUNK):
            await copy_tables(engine, audit_tables(range(start, min(start + CHUNK, count))))
    finally:
        await engine.dispose()
    await analyse(url, ("knownhousehold", "finding", "rectificationtask"))


async def analyse(url: str, tables: Iterable[str]) -> None:
    """Statistics for the planner, as autovacuum would gather them in service."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in tables:
                await conn.execute(text(f"VACUUM ANALYZE {table}"))
    finally:
        await engine.dispose()

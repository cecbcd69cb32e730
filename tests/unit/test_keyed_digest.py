"""ID-number hashes are stored as their 32 bytes and read back as the hexadecimal text the code compares: the column
type, COPY's stored form, and migration 0013 both ways (SQLite here; PostgreSQL in the integration tests)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlmodel import select

from services.households.models import Member, PowerHolder, PowerHolderRelative
from shared.db import copy_records, create_engine
from shared.migrations import alembic_config
from shared.sealing import KeyedDigest
from shared.timeutil import UTCDateTime
from tests.support import migrate_over

DIGEST = "0f" * 16 + "a9" * 16
OTHER = "7e" * 32
RELATIVE = "c4" * 32
AT = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("value", ["ab" * 31, "ab" * 33, "zz" * 32, "AB" * 32, "ab" * 31 + " a", "", 12])
@pytest.mark.parametrize("dialect", [postgresql.dialect(), sqlite.dialect()], ids=["postgresql", "sqlite"])
def test_what_is_no_keyed_digest_is_refused_before_it_is_stored(value: Any, dialect: Dialect) -> None:
    with pytest.raises(ValueError, match="64 lower-case hexadecimal characters"):
        KeyedDigest().process_bind_param(value, dialect)


def test_a_keyed_digest_is_its_32_bytes_stored_and_its_hex_read() -> None:
    stored = KeyedDigest().process_bind_param(DIGEST, postgresql.dialect())
    assert stored == bytes.fromhex(DIGEST) and len(stored) == 32
    assert KeyedDigest().process_result_value(memoryview(stored), postgresql.dialect()) == DIGEST
    assert KeyedDigest().process_bind_param(None, postgresql.dialect()) is None


def test_sqlite_keeps_a_keyed_digest_as_its_text() -> None:
    assert KeyedDigest().process_bind_param(DIGEST, sqlite.dialect()) == DIGEST
    assert KeyedDigest().process_result_value(DIGEST, sqlite.dialect()) == DIGEST


def test_copy_writes_each_column_of_the_project_s_types_as_a_statement_binds_it() -> None:
    table = sa.Table(
        "copied",
        sa.MetaData(),
        sa.Column("name", sa.String(10)),
        sa.Column("id_hash", KeyedDigest()),
        sa.Column("at", UTCDateTime()),
    )
    dialect = postgresql.asyncpg.dialect()  # type: ignore[attr-defined]
    rows = [{"name": "a", "id_hash": DIGEST, "at": AT}, {"name": "b", "id_hash": None, "at": AT}]
    assert copy_records(table, ["name", "id_hash", "at"], rows, dialect) == [
        ("a", bytes.fromhex(DIGEST), AT),
        ("b", None, AT),
    ]
    assert copy_records(table, ["name"], rows, dialect) == ["a", "b"]  # one column: its values
    with pytest.raises(ValueError, match="naive datetime"):
        copy_records(table, ["name", "at"], [{"name": "c", "at": datetime(2020, 1, 1)}], dialect)


async def test_sqlite_keeps_stored_hashes_as_text_through_0013_both_ways(sqlite_url: Any) -> None:
    await hashes_migrate_both_ways(await sqlite_url("households"))


async def hashes_migrate_both_ways(url: str) -> None:
    """Hashes stored as text by 0012 are bytes at head on PostgreSQL (text on SQLite), found by the code as before,
    and text again at 0012."""
    household, holder = uuid4(), uuid4()
    members = [_member(household, DIGEST), _member(household, None)]
    await migrate_over("households", url, "0012", _as_in_0012(household, members, holder))
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            stored = bytes.fromhex if conn.dialect.name == "postgresql" else str
            assert set(await _stored(conn)) == {stored(DIGEST), None, stored(OTHER), stored(RELATIVE)}
            found = (await conn.execute(select(Member.id).where(Member.id_hash == DIGEST))).scalars().all()
            assert found == [members[0]["id"]]
            assert (await conn.execute(select(PowerHolder.id_hash))).scalars().all() == [OTHER]
            assert (await conn.execute(select(PowerHolderRelative.id_hash))).scalars().all() == [RELATIVE]
        async with engine.begin() as conn:
            await conn.run_sync(_downgrade_to_0012)
    finally:
        await engine.dispose()
    engine = create_engine(url)  # new connections: the statements the old ones prepared read the old column type
    try:
        async with engine.connect() as conn:
            assert set(await _stored(conn)) == {DIGEST, None, OTHER, RELATIVE}
    finally:
        await engine.dispose()


def _member(household: UUID, id_hash: str | None) -> dict[str, Any]:
    return {
        "id": uuid4(),
        "household_id": household,
        "name": "张三",
        "relationship_to_head": "head",
        "birth_date": date(1960, 3, 1),
        "id_hash": id_hash,
    }


def _as_in_0012(household: UUID, members: list[dict[str, Any]], holder: UUID) -> dict[Any, list[dict[str, Any]]]:
    """The rows as 0012 stored them: each hash as its 64 characters."""

    def table(name: str, *columns: str) -> Any:
        return sa.table(
            name, *(sa.column(c, sa.Uuid() if c in ("id", "household_id", "holder_id") else None) for c in columns)
        )

    home = {
        "id": household,
        "household_code": "KD-1",
        "area_code": "371523101201",
        "head_name": "张三",
        "registered_at": AT,
    }
    official = {
        "person_id": "cadre-1",
        "name": "李四",
        "post": "村支书",
        "role": "village_secretary",
        "area_code": "371523101201",
    }
    return {
        table("household", *home): [home],
        table("member", *members[0]): members,
        table("powerholder", "id", *official, "id_hash", "registered_by", "registered_at"): [
            {"id": holder, **official, "id_hash": OTHER, "registered_by": "office", "registered_at": AT}
        ],
        table("powerholderrelative", "id", "holder_id", "relationship", "id_hash", "recorded_by", "recorded_at"): [
            {
                "id": uuid4(),
                "holder_id": holder,
                "relationship": "spouse",
                "id_hash": RELATIVE,
                "recorded_by": "office",
                "recorded_at": AT,
            }
        ],
    }


async def _stored(conn: Any) -> list[Any]:
    """Every hash as the database holds it, read past the column type."""
    tables = ("member", "powerholder", "powerholderrelative")
    rows = await conn.execute(sa.text(" UNION ALL ".join(f"SELECT id_hash FROM {table}" for table in tables)))
    return [bytes(h) if isinstance(h, memoryview) else h for h in rows.scalars().all()]


def _downgrade_to_0012(connection: Any) -> None:
    cfg = alembic_config("households")
    cfg.attributes["connection"] = connection
    command.downgrade(cfg, "0012")

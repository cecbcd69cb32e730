"""Migrations on real PostgreSQL: one migrator at a time, and a migration never queues live traffic for long."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import create_engine
from shared.local.databases import ScratchDatabases
from shared.migrations import MIGRATION_LOCK, alembic_config, is_at_head, upgrade_to_head

pytestmark = pytest.mark.integration


@pytest.fixture
async def audit_db(postgres_admin_url: str) -> AsyncIterator[AsyncEngine]:
    """A fresh, empty database for audit (not migrated)."""
    databases = ScratchDatabases(postgres_admin_url)
    engine = create_engine(await databases.create("t_audit_migrations"))
    try:
        yield engine
    finally:
        await engine.dispose()
        await databases.drop_all()


async def test_a_migrator_waits_for_the_one_already_running(audit_db: AsyncEngine) -> None:
    async with audit_db.connect() as running:  # another migrator (a Job pod being replaced) holds the lock
        await running.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        migrating = asyncio.create_task(upgrade_to_head(audit_db, "audit"))
        await asyncio.sleep(1.0)
        assert not migrating.done()  # it waits instead of racing on alembic_version
        await running.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
        await asyncio.wait_for(migrating, 60)
    assert await is_at_head(audit_db, "audit")


async def test_a_migration_waiting_for_a_busy_table_gives_up_instead_of_queueing_its_readers(
    audit_db: AsyncEngine,
) -> None:
    await upgrade_to_head(audit_db, "audit")

    def back_to_0004(connection: object) -> None:
        cfg = alembic_config("audit")
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0004")  # 0005 alters rectificationtask

    async with audit_db.begin() as conn:
        await conn.run_sync(back_to_0004)
    async with audit_db.connect() as reader:
        await reader.execute(text("SELECT count(*) FROM rectificationtask"))  # holds its lock until it ends
        started = time.monotonic()
        with pytest.raises(DBAPIError, match="lock timeout"):
            await upgrade_to_head(audit_db, "audit")
        assert time.monotonic() - started < 30
        await reader.rollback()
    await upgrade_to_head(audit_db, "audit")  # the retry, once the reader is gone
    assert await is_at_head(audit_db, "audit")

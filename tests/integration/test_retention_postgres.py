"""Retention on PostgreSQL: replicas purging at once delete each expired row once, and none waits for a
row another transaction holds."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from shared.db import create_engine
from shared.messaging.retention import RetentionPolicy, purge_expired
from tests.support import remaining_messaging_rows, seed_messaging_rows

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)


async def test_replicas_purging_at_once_delete_each_row_once(pg_database: Callable[[str], Awaitable[str]]) -> None:
    engine = create_engine(await pg_database("subsidies"))
    old, recent = NOW - timedelta(days=49), NOW - timedelta(days=1)
    await seed_messaging_rows(engine, {f"old-{n}": (old, True) for n in range(600)})
    await seed_messaging_rows(engine, {f"recent-{n}": (recent, True) for n in range(5)})
    policy = RetentionPolicy(timedelta(days=7), timedelta(days=48), batch_size=50)
    runs = await asyncio.gather(*(purge_expired(engine, policy, now=NOW) for _ in range(3)))
    remaining = await remaining_messaging_rows(engine)
    await engine.dispose()
    assert sum(r.outbox_rows for r in runs) == 600 and sum(r.inbox_rows for r in runs) == 600
    assert remaining == ({f"recent-{n}" for n in range(5)},) * 2


async def test_a_locked_expired_row_is_skipped_not_waited_for(pg_database: Callable[[str], Awaitable[str]]) -> None:
    engine = create_engine(await pg_database("subsidies"))
    await seed_messaging_rows(
        engine, {"held": (NOW - timedelta(days=50), True), "free": (NOW - timedelta(days=50), True)}
    )
    async with engine.connect() as holder:
        await holder.exec_driver_sql("SELECT 1 FROM outbox WHERE event_id = 'held' FOR UPDATE")
        run = await asyncio.wait_for(
            purge_expired(engine, RetentionPolicy(timedelta(days=7), timedelta(days=48)), now=NOW), timeout=10
        )
        await holder.rollback()
    outbox, _ = await remaining_messaging_rows(engine)
    await engine.dispose()
    assert run.outbox_rows == 1 and outbox == {"held"}

"""Retention of the outbox and inbox: what is expired goes, in batches; what is unpublished or recent stays."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import create_engine
from shared.messaging.retention import PurgeRun, RetentionPolicy, purge_expired, purge_periodically
from tests.kafka_support import eventually
from tests.support import in_background, remaining_messaging_rows, seed_messaging_rows, service_settings

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
POLICY = RetentionPolicy(outbox=timedelta(days=7), inbox=timedelta(days=48))


async def test_expired_rows_are_deleted_and_the_rest_kept(sqlite_url: Callable[[str], Awaitable[str]]) -> None:
    engine = create_engine(await sqlite_url("projects"))
    await seed_messaging_rows(
        engine,
        {
            "published-50-days-ago": (NOW - timedelta(days=50), True),
            "published-10-days-ago": (NOW - timedelta(days=10), True),
            "published-44-days-ago": (NOW - timedelta(days=44), True),
            "unpublished-50-days-ago": (NOW - timedelta(days=50), False),
            "published-just-now": (NOW, True),
        },
    )
    run = await purge_expired(engine, POLICY, now=NOW)
    outbox, inbox = await remaining_messaging_rows(engine)
    await engine.dispose()
    assert run == PurgeRun(outbox_rows=3, inbox_rows=2)
    assert outbox == {"unpublished-50-days-ago", "published-just-now"}  # never lose an event not yet sent
    assert inbox == {"published-10-days-ago", "published-44-days-ago", "published-just-now"}


async def test_many_expired_rows_go_in_several_batches(sqlite_url: Callable[[str], Awaitable[str]]) -> None:
    engine = create_engine(await sqlite_url("projects"))
    old = NOW - timedelta(days=49)
    await seed_messaging_rows(engine, {f"e-{n}": (old, True) for n in range(25)})
    run = await purge_expired(engine, RetentionPolicy(timedelta(days=7), timedelta(days=48), batch_size=10), now=NOW)
    remaining = await remaining_messaging_rows(engine)
    await engine.dispose()
    assert run == PurgeRun(25, 25)
    assert remaining == (set(), set())


def test_the_inbox_must_outlive_the_topics_retention() -> None:
    # a record lives 8 days on a topic and 31 as a dead letter (retention plus a day's segment); a consumer a
    # topic's life behind dead-letters it, and its replay is read up to 8 days later
    with pytest.raises(ValueError, match="at least 47 days"):
        RetentionPolicy(outbox=timedelta(days=7), inbox=timedelta(days=46))
    with pytest.raises(ValidationError, match="inbox_retention_days"):
        service_settings("projects", inbox_retention_days=45)
    assert service_settings("projects").retention_policy() == RetentionPolicy(timedelta(days=7), timedelta(days=60))


async def test_the_service_loop_purges_soon_after_start_and_survives_a_failure(
    sqlite_url: Callable[[str], Awaitable[str]],
) -> None:
    engine = create_engine(await sqlite_url("projects"))
    await seed_messaging_rows(engine, {"expired": (NOW - timedelta(days=61), True)})
    clock_calls: list[datetime] = []

    def clock() -> datetime:
        clock_calls.append(NOW)
        if len(clock_calls) == 1:
            raise OSError("the database is unreachable")  # the first run fails; the loop must go on
        return NOW

    try:
        async with in_background(purge_periodically(engine, POLICY, interval_s=0.05, clock=clock)):
            assert await eventually(lambda: _all_gone(engine), timeout=10)
    finally:
        await engine.dispose()
    assert len(clock_calls) >= 2


async def _all_gone(engine: AsyncEngine) -> bool:
    return await remaining_messaging_rows(engine) == (set(), set())

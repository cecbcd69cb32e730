"""A transaction's events on PostgreSQL, written with the relays' wake-up in one statement: in the order recorded."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import text

from shared.contracts.households import HouseholdRegistered
from shared.db import create_engine, session_factory
from shared.messaging.outbox import record_event

pytestmark = pytest.mark.integration


async def test_a_transaction_s_events_are_numbered_in_the_order_they_were_recorded(
    pg_database: Callable[[str], Awaitable[str]],
) -> None:
    engine = create_engine(await pg_database("projects"))
    codes = [f"C{n:05d}" for n in range(3000)]
    try:
        async with session_factory(engine).begin() as session:  # no relay leads here: the rows and a NOTIFY
            for code in codes:
                event = HouseholdRegistered(
                    household_id=uuid.uuid4(), household_code=code, area_code="371523101201", member_count=1
                )
                record_event(session, event, source="/tests")
        async with engine.connect() as connection:
            read = await connection.scalars(text("SELECT payload::json->>'household_code' FROM outbox ORDER BY id"))
            assert list(read) == codes
    finally:
        await engine.dispose()

"""The inbox's claim on PostgreSQL (one statement with array parameters): each event id claimed once."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import func, select

from shared.db import create_engine, session_factory, unit_of_work
from shared.messaging import inbox
from shared.messaging.inbox import InboxEntry

pytestmark = pytest.mark.integration


async def test_a_claim_returns_only_the_ids_not_claimed_before(pg_database: Callable[[str], Awaitable[str]]) -> None:
    engine = create_engine(await pg_database("households"))
    sessions = session_factory(engine)
    try:
        ids = [str(uuid.uuid4()) for _ in range(3)]
        async with unit_of_work(sessions) as session:
            first = await inbox.claim(session, consumer="c", events=[(ids[0], "t.v1"), (ids[1], "t.v1")])
        async with unit_of_work(sessions) as session:
            # the same event twice in one batch, one claimed before, one new; and another consumer's claims apart
            again = [(ids[1], "t.v1"), (ids[2], "t.v1"), (ids[2], "t.v1")]
            second = await inbox.claim(session, consumer="c", events=again)
            other = await inbox.claim(session, consumer="other", events=[(ids[0], "t.v1")])
        assert first == {ids[0], ids[1]} and second == {ids[2]} and other == {ids[0]}
        async with sessions() as session:
            assert await session.scalar(select(func.count()).select_from(InboxEntry)) == 4
    finally:
        await engine.dispose()

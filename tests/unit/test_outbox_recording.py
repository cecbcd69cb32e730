"""Events recorded in a transaction reach the outbox table at its commit, in order, and only what commits."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from shared.contracts.households import HouseholdRegistered
from shared.db import create_engine, session_factory, unit_of_work
from shared.messaging.outbox import OutboxMessage, OutboxSignal, record_event, session_info


def _event(code: str) -> HouseholdRegistered:
    return HouseholdRegistered(household_id=uuid.uuid4(), household_code=code, area_code="371523101201", member_count=1)


@pytest.fixture
async def sessions(sqlite_url: Callable[[str], Awaitable[str]]) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(await sqlite_url("households"))
    yield session_factory(engine)
    await engine.dispose()


async def _published_codes(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    return [row.payload.split('"household_code":"')[1].split('"')[0] for row in rows]


async def test_recorded_events_are_written_at_commit_in_order(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        first = record_event(session, _event("H-1"), source="/tests")
        record_event(session, _event("H-2"), source="/tests")
        async with sessions() as other:
            assert (await other.scalars(select(OutboxMessage))).all() == []  # nothing before the commit
    assert await _published_codes(sessions) == ["H-1", "H-2"]
    async with sessions() as session:
        stored = (await session.scalars(select(OutboxMessage).limit(1))).one()
    assert (stored.event_id, stored.payload, stored.published_at) == (first["event_id"], first["payload"], None)


async def test_a_rolled_back_transaction_writes_no_event(sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(RuntimeError):
        async with unit_of_work(sessions) as session:
            record_event(session, _event("H-1"), source="/tests")
            raise RuntimeError("the use case failed")
    async with unit_of_work(sessions) as session:
        record_event(session, _event("H-2"), source="/tests")
    assert await _published_codes(sessions) == ["H-2"]


async def test_a_rolled_back_savepoint_drops_only_its_own_events(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        record_event(session, _event("before"), source="/tests")
        async with session.begin_nested():
            record_event(session, _event("kept"), source="/tests")
        with pytest.raises(RuntimeError):
            async with session.begin_nested():
                record_event(session, _event("dropped"), source="/tests")
                raise RuntimeError("this row is refused")
        record_event(session, _event("after"), source="/tests")
    assert await _published_codes(sessions) == ["before", "kept", "after"]


async def test_an_inner_savepoint_released_inside_a_rolled_back_one_is_dropped_with_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        record_event(session, _event("before"), source="/tests")
        with pytest.raises(RuntimeError):
            async with session.begin_nested():
                async with session.begin_nested():
                    record_event(session, _event("inner"), source="/tests")
                raise RuntimeError("the outer savepoint fails")
    assert await _published_codes(sessions) == ["before"]


async def test_a_session_closed_without_committing_leaves_nothing_for_its_next_transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    session = sessions()
    await session.connection()  # the transaction has begun
    record_event(session, _event("abandoned"), source="/tests")
    await session.close()
    async with session.begin():  # the same session object, used again
        record_event(session, _event("H-1"), source="/tests")
    assert await _published_codes(sessions) == ["H-1"]


async def test_the_relay_is_woken_only_by_a_commit_that_wrote_events(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    signal = OutboxSignal()
    signalled = async_sessionmaker(sessions.kw["bind"], expire_on_commit=False, info=session_info(signal))
    async with unit_of_work(signalled):
        pass
    assert not signal._event.is_set()
    async with unit_of_work(signalled) as session:
        record_event(session, _event("H-1"), source="/tests")
    assert signal._event.is_set()

"""The consumer applies a partition's waiting events in batches: one commit for many, same effects as one by one."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.audit.handlers import build_handlers
from services.audit.models import Finding
from services.audit.settings import AuditSettings
from shared.contracts import HOUSEHOLDS_TOPIC
from shared.contracts.households import HouseholdProblemFound
from shared.db import create_engine, session_factory
from shared.messaging.cloudevents import Envelope
from shared.messaging.consumer import ConsumerRunner
from shared.messaging.handlers import HandlerRegistry
from shared.messaging.inbox import InboxEntry
from tests.support import envelope_of, household_problem

AUDIT = build_handlers(AuditSettings(database_url="unused"))


def records(envelopes: list[Envelope]) -> list[ConsumerRecord[bytes, bytes]]:
    """The records one partition would hand over, in offset order."""
    return [
        ConsumerRecord(HOUSEHOLDS_TOPIC, 0, n, 0, 0, env.subject.encode(), env.data, None, 0, 0, env.to_headers())
        for n, env in enumerate(envelopes)
    ]


class Database:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions, self.commits = sessions, 0

    def runner(self, handlers: HandlerRegistry = AUDIT, batch_size: int = 100) -> ConsumerRunner:
        # No record here is poison, so neither the Kafka consumer nor the dead-letter producer is reached.
        none: Any = None
        return ConsumerRunner(
            name="audit",
            handlers=handlers,
            sessions=self.sessions,
            consumer=none,
            dlq_producer=none,
            backoff_s=0.001,
            batch_size=batch_size,
        )

    async def count(self, model: type[Any], *where: Any) -> int:
        async with self.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@pytest.fixture
async def db(sqlite_url: Callable[[str], Awaitable[str]]) -> AsyncIterator[Database]:
    engine = create_engine(await sqlite_url("audit"))
    database = Database(session_factory(engine))

    @event.listens_for(engine.sync_engine, "commit")
    def counted(_: object) -> None:
        database.commits += 1

    yield database
    await engine.dispose()


async def test_waiting_events_are_applied_in_one_transaction(db: Database) -> None:
    batch = records([envelope_of(household_problem(uuid.uuid4())) for _ in range(20)])
    assert await db.runner().process(batch) == ["applied"] * 20
    assert db.commits == 1
    assert await db.count(Finding) == 20 and await db.count(InboxEntry) == 20


async def test_a_batch_redelivered_changes_nothing(db: Database) -> None:
    batch = records([envelope_of(household_problem(uuid.uuid4())) for _ in range(5)])
    await db.runner().process(batch)
    assert await db.runner().process(batch) == ["duplicate"] * 5
    assert await db.count(Finding) == 5


async def test_batches_are_cut_at_the_batch_size(db: Database) -> None:
    batch = records([envelope_of(household_problem(uuid.uuid4())) for _ in range(7)])
    assert await db.runner(batch_size=3).process(batch) == ["applied"] * 7
    assert db.commits == 3


async def test_a_repeat_inside_one_batch_adds_an_occurrence(db: Database) -> None:
    household = uuid.uuid4()
    twice = [envelope_of(household_problem(household)) for _ in range(2)]
    await db.runner().process(records(twice))
    async with db.sessions() as session:
        finding = (await session.scalars(select(Finding))).one()
    assert finding.occurrences == 2


async def test_a_failing_event_is_isolated_and_the_rest_applied_once(db: Database) -> None:
    envelopes = [envelope_of(household_problem(uuid.uuid4())) for _ in range(6)]
    failing, calls = envelopes[3].id, []
    handlers = HandlerRegistry()

    @handlers.on(HouseholdProblemFound)
    async def fails_once(session: AsyncSession, _: HouseholdProblemFound, env: Envelope) -> None:
        calls.append(env.id)
        if env.id == failing and calls.count(failing) == 1:
            raise LookupError("reference data not loaded yet")
        application = AUDIT.bind(HOUSEHOLDS_TOPIC, env)
        assert application is not None
        await application(session)

    assert await db.runner(handlers).process(records(envelopes)) == ["applied"] * 6
    assert db.commits == 6  # the failed batch rolled back, then one transaction per event
    assert calls.count(failing) == 2
    assert await db.count(Finding) == 6 and await db.count(InboxEntry) == 6


async def test_the_same_event_twice_in_one_batch_is_applied_once(db: Database) -> None:
    env = envelope_of(household_problem(uuid.uuid4()))
    assert await db.runner().process(records([env, env])) == ["applied", "duplicate"]
    assert await db.count(Finding) == 1 and await db.count(InboxEntry) == 1

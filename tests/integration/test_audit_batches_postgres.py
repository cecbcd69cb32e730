"""Audit's finding handler applying a batch in one transaction on real PostgreSQL (and Kafka for the dead letters):
the same rows, events and log entries as one event per transaction; a later event of the batch sees an earlier one's
finding; a poison event isolated and dead-lettered, the others applied once; the log's chain whole after each."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.audit.domain import ledger
from services.audit.handlers import build_handlers
from services.audit.models import DisciplineReferral, Finding, LedgerEntry, RectificationTask
from services.audit.settings import AuditSettings
from shared.contracts import ALL_TOPICS, HOUSEHOLDS_TOPIC, dead_letter_topic
from shared.contracts.households import HouseholdProblemFound, ProblemCategory
from shared.db import create_engine
from shared.messaging.cloudevents import Envelope
from shared.messaging.consumer import ConsumerRunner
from shared.messaging.handlers import HandlerRegistry
from shared.messaging.kafka import ensure_topics, make_producer
from shared.messaging.outbox import OutboxMessage
from shared.timeutil import district_today
from tests.kafka_support import ce_id, read_until
from tests.support import envelope_of

pytestmark = pytest.mark.integration

AREA = "371523101201"


@pytest.fixture
async def sessions(pg_database: Any) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(await pg_database("audit"))
    try:
        yield async_sessionmaker(engine, expire_on_commit=False)
    finally:
        await engine.dispose()


def house(household: uuid.UUID, grade: str, *, found_on: date | None = None, found_by: str = "cadre-7") -> Envelope:
    """A house appraised at `grade` on a visit (D: severe, referred at once); found long ago: also reported late."""
    return envelope_of(
        HouseholdProblemFound(
            household_id=household,
            problem_id=uuid.uuid4(),
            visit_id=uuid.uuid4(),
            area_code=AREA,
            category=ProblemCategory.HOUSING,
            code="housing_unsafe",
            description="house appraised at the visit",
            housing_grade=grade,
            found_on=found_on or district_today(),
            found_by=found_by,
        )
    )


def records(envelopes: list[Envelope], first_offset: int = 0) -> list[ConsumerRecord[bytes, bytes]]:
    return [
        ConsumerRecord(HOUSEHOLDS_TOPIC, 0, first_offset + n, 0, 0, e.subject.encode(), e.data, None, 0, 0,
                       e.to_headers())
        for n, e in enumerate(envelopes)
    ]  # fmt: skip


def runner(sessions: async_sessionmaker[AsyncSession], handlers: HandlerRegistry, dlq: Any = None) -> ConsumerRunner:
    none: Any = None  # records are handed to `process`: the Kafka consumer is never reached
    return ConsumerRunner(name=f"audit-{uuid.uuid4().hex[:8]}", handlers=handlers, sessions=sessions, consumer=none,
                          dlq_producer=dlq, max_attempts=2, backoff_s=0.01)  # fmt: skip


def mixed_batch() -> list[Envelope]:
    """One household's house found C then D (the second a recurrence, escalated and referred), another's found
    long ago (a finding of late reporting too), a third's D."""
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    return [
        house(first, "C"),
        house(second, "D", found_on=date(2020, 5, 12)),
        house(first, "D"),
        house(third, "D"),
    ]


async def shape(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    """What applying wrote, without ids and times: the findings (their subjects numbered by first appearance),
    tasks, referrals, the events published and the log's changes, in order."""
    async with sessions() as s:
        entries = (await s.scalars(select(col(LedgerEntry.source)).order_by(col(LedgerEntry.seq)))).all()
        events = (await s.scalars(select(col(OutboxMessage.event_type)).order_by(col(OutboxMessage.id)))).all()
        found = (await s.scalars(select(Finding).order_by(col(Finding.opened_at), col(Finding.code)))).all()
        tasks = await s.scalar(select(func.count()).select_from(RectificationTask))
        referrals = await s.scalars(select(col(DisciplineReferral.reason)).order_by(col(DisciplineReferral.reason)))
        subjects: dict[str, int] = {}
        return {
            "changes": [source.split("/")[0] for source in entries],
            "events": [event_type.split(".")[3] for event_type in events],
            "findings": sorted(
                (
                    subjects.setdefault(f.subject_id, len(subjects)),
                    f.code,
                    f.severity,
                    f.occurrences,
                    f.status,
                    f.referred_at is not None,
                )
                for f in found
            ),
            "tasks": tasks,
            "referrals": list(referrals.all()),
        }


async def heads(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with sessions() as s:
        seq = await s.scalar(select(func.max(col(LedgerEntry.seq))))
        outbox = await s.scalar(select(func.max(col(OutboxMessage.id))))
    return seq or 0, outbox or 0


async def test_a_batch_writes_what_one_event_per_transaction_writes(
    pg_database: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Each database applies the same kind of batch: one in one transaction, the other one event per transaction;
    a later event sees the earlier one's finding either way (the second D of a household is a recurrence)."""
    caplog.set_level(logging.INFO, logger="shared.messaging.applying")
    handlers = build_handlers(AuditSettings(database_url="unused"))
    shapes = []
    for one_by_one in (False, True):
        engine = create_engine(await pg_database("audit"))
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        try:
            batch = records(mixed_batch())
            consumer = runner(sessions, handlers)
            if one_by_one:
                outcomes = [outcome for record in batch for outcome in await consumer.process([record])]
            else:
                outcomes = await consumer.process(batch)
            assert outcomes == ["applied"] * 4
            shapes.append(await shape(sessions))
            async with sessions() as s:
                assert (await ledger.verify(s)).ok
        finally:
            await engine.dispose()
    batched, single = shapes
    assert not [r for r in caplog.records if "event batch failed" in r.getMessage()]  # not replayed one by one
    assert batched == single
    first_household = [f for f in batched["findings"] if f[0] == 0]
    assert first_household == [(0, "housing_unsafe", "severe", 2, "open", True)]  # one finding, seen twice
    assert batched["events"].count("finding_recurred") == 1
    assert batched["events"].count("rectification_rescheduled") == 1  # found worse: the batch's own task moved
    assert batched["referrals"] == ["severe_finding"] * 3 and batched["tasks"] == 4


async def test_a_batch_applied_again_changes_nothing(sessions: async_sessionmaker[AsyncSession]) -> None:
    batch = records(mixed_batch())
    handlers = build_handlers(AuditSettings(database_url="unused"))
    consumer = runner(sessions, handlers)
    assert await consumer.process(batch) == ["applied"] * 4
    seq, outbox = await heads(sessions)
    assert await consumer.process(batch) == ["duplicate"] * 4  # redelivered after a lost offset commit
    assert await heads(sessions) == (seq, outbox)


async def test_a_poison_event_in_a_batch_is_dead_lettered_and_the_others_applied_once(
    kafka: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await ensure_topics(kafka, ALL_TOPICS)
    real = build_handlers(AuditSettings(database_url="unused"))
    handlers = HandlerRegistry()
    tried: list[str] = []

    @handlers.on(HouseholdProblemFound)
    async def failing_once_seen(session: AsyncSession, event: HouseholdProblemFound, env: Envelope) -> None:
        # After the batch's other events have queued their rows: the whole transaction is rolled back.
        if event.found_by == "poison":
            tried.append(env.id)
            raise LookupError("rule cannot apply")
        application = real.bind(HOUSEHOLDS_TOPIC, env)  # audit's handler and its log entry of the event
        assert application is not None
        await application(session)

    good = mixed_batch()
    poisoned_household = uuid.uuid4()
    poison = house(poisoned_household, "D", found_by="poison")
    batch = records([*good[:2], poison, *good[2:]])
    producer: AIOKafkaProducer = make_producer(kafka, client_id="test-audit-batches")
    await producer.start()
    try:
        consumer = runner(sessions, handlers, dlq=producer)
        outcomes = await consumer.process(batch)
        dlq = await read_until(kafka, dead_letter_topic(HOUSEHOLDS_TOPIC), lambda rs: poison.id in map(ce_id, rs))
    finally:
        await producer.stop()
    assert sorted(outcomes) == sorted(["applied"] * 4 + ["dead_lettered"])
    assert tried == [poison.id] * 2  # once in the batch, then alone until its attempts are spent
    dead = next(dict(r.headers) for r in dlq if ce_id(r) == poison.id)
    assert dead["dlq_error_type"] == b"LookupError"
    async with sessions() as s:
        poisoned = await s.scalar(select(func.count()).where(col(Finding.subject_id) == str(poisoned_household)))
        logged = (await s.scalars(select(col(LedgerEntry.source)))).all()
        verification = await ledger.verify(s)
    assert poisoned == 0
    assert sorted(source.split("/")[1] for source in logged if source.startswith(HOUSEHOLDS_TOPIC)) == sorted(
        e.id for e in good
    )  # each good event logged once, the poison never
    assert verification.ok

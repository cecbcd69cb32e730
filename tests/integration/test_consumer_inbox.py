"""The consumer runner on real PostgreSQL and Kafka: one effect per event, poison to the DLQ, flow goes on."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.audit.handlers import build_handlers
from services.audit.models import Finding
from services.audit.settings import AuditSettings
from shared.contracts import ALL_TOPICS, HOUSEHOLDS_TOPIC, dead_letter_topic
from shared.contracts.households import HouseholdProblemFound
from shared.db import create_engine
from shared.messaging.cloudevents import Envelope
from shared.messaging.consumer import ConsumerRunner
from shared.messaging.handlers import HandlerRegistry
from shared.messaging.kafka import ensure_topics, make_consumer, make_producer
from tests.kafka_support import ce_id, eventually, read_until
from tests.support import household_problem, in_background

pytestmark = pytest.mark.integration


def envelope(event: HouseholdProblemFound, event_id: str | None = None) -> Envelope:
    return Envelope(
        id=event_id or str(uuid.uuid4()),
        type=event.event_type,
        source="/tests",
        subject=event.aggregate_id(),
        time=datetime.now(UTC),
        data=event.model_dump_json().encode(),
    )


def keyed_like(earlier: Envelope, event: HouseholdProblemFound) -> Envelope:
    """`event` keyed like `earlier`: the same partition, so it is consumed after it (a marker that the earlier
    records were done; records of other keys may be on partitions consumed later)."""
    return dataclasses.replace(envelope(event), subject=earlier.subject)


async def send(producer: AIOKafkaProducer, env: Envelope, value: bytes | None = None, headers: Any = None) -> None:
    await producer.send_and_wait(
        HOUSEHOLDS_TOPIC,
        env.data if value is None else value,
        key=env.subject.encode(),
        headers=env.to_headers() if headers is None else headers,
    )


class Audit:
    """An audit database and a runner factory consuming `households.events` into it."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], kafka: str, producer: AIOKafkaProducer) -> None:
        self.sessions, self.kafka, self.producer = sessions, kafka, producer
        self.group = f"test-audit-{uuid.uuid4().hex[:8]}"

    async def findings(self, household_id: uuid.UUID) -> int:
        async with self.sessions() as s:
            stmt = select(func.count()).select_from(Finding).where(Finding.subject_id == str(household_id))
            return int(await s.scalar(stmt) or 0)

    @contextlib.asynccontextmanager
    async def runner(self, handlers: HandlerRegistry | None = None) -> AsyncIterator[ConsumerRunner]:
        handlers = handlers or build_handlers(AuditSettings(database_url="unused"))
        consumer = make_consumer(self.kafka, group_id=self.group, topics=handlers.topics)
        await consumer.start()
        runner = ConsumerRunner(
            name=self.group,
            handlers=handlers,
            sessions=self.sessions,
            consumer=consumer,
            dlq_producer=self.producer,
            max_attempts=3,
            backoff_s=0.05,
        )
        try:
            async with in_background(runner.run()):
                yield runner
        finally:
            await consumer.stop()


@pytest.fixture
async def audit(kafka: str, pg_database: Any) -> AsyncIterator[Audit]:
    await ensure_topics(kafka, ALL_TOPICS)
    engine = create_engine(await pg_database("audit"))
    producer = make_producer(kafka, client_id="test-producer")
    await producer.start()
    try:
        yield Audit(async_sessionmaker(engine, expire_on_commit=False), kafka, producer)
    finally:
        await producer.stop()
        await engine.dispose()


async def test_same_event_delivered_twice_has_one_effect(audit: Audit) -> None:
    household = uuid.uuid4()
    env = envelope(household_problem(household))
    await send(audit.producer, env)
    await send(audit.producer, env)  # the redelivery an outbox relay crash produces
    marker = uuid.uuid4()
    await send(audit.producer, keyed_like(env, household_problem(marker)))
    async with audit.runner():
        await eventually(lambda: audit.findings(marker))
    assert await audit.findings(household) == 1


async def test_redelivery_after_restart_is_absorbed(audit: Audit) -> None:
    household = uuid.uuid4()
    env = envelope(household_problem(household))
    await send(audit.producer, env)
    async with audit.runner():
        await eventually(lambda: audit.findings(household))
    audit.group = f"{audit.group}-replay"  # a new group re-reads the topic from the start, like lost offsets
    async with audit.runner() as runner:
        await asyncio.sleep(0)
        marker = uuid.uuid4()
        await send(audit.producer, keyed_like(env, household_problem(marker)))
        await eventually(lambda: audit.findings(marker))
        assert runner.name.endswith("-replay")
    assert await audit.findings(household) == 1


async def test_poison_event_is_dead_lettered_and_later_events_flow(audit: Audit) -> None:
    good = uuid.uuid4()
    bad_payload = envelope(household_problem(uuid.uuid4()))
    await send(audit.producer, bad_payload, value=b'{"household_id": "not-a-uuid"}')
    await send(audit.producer, bad_payload, headers=[("ce_id", b"x")])  # not a CloudEvent at all
    await send(audit.producer, keyed_like(bad_payload, household_problem(good)))
    async with audit.runner():
        await eventually(lambda: audit.findings(good))
        dlq = await read_until(
            audit.kafka,
            dead_letter_topic(HOUSEHOLDS_TOPIC),
            lambda rs: sum(dict(r.headers).get("dlq_consumer") == audit.group.encode() for r in rs) >= 2,
        )
    mine = [dict(r.headers) for r in dlq if dict(r.headers).get("dlq_consumer") == audit.group.encode()]
    assert {h["dlq_error_type"] for h in mine} == {b"ValidationError", b"MalformedEvent"}
    assert all(h["dlq_source_topic"] == HOUSEHOLDS_TOPIC.encode() for h in mine)
    assert all(b"not-a-uuid" not in h["dlq_error_message"] for h in mine)


async def test_failing_handler_is_retried_then_dead_lettered(audit: Audit) -> None:
    attempts: list[str] = []
    real = build_handlers(AuditSettings(database_url="unused"))
    handlers = HandlerRegistry()

    @handlers.on(HouseholdProblemFound)
    async def flaky(session: AsyncSession, event: HouseholdProblemFound, env: Envelope) -> None:
        if event.found_by == "poison":
            attempts.append(env.id)
            raise LookupError("rule cannot apply")
        application = real.bind(HOUSEHOLDS_TOPIC, env)
        assert application is not None
        await application(session)

    # One key, so one partition: sent before the consumer starts, they reach it as one batch.
    key = str(uuid.uuid4())
    before, after = uuid.uuid4(), uuid.uuid4()
    env = dataclasses.replace(envelope(household_problem(uuid.uuid4(), found_by="poison")), subject=key)
    for sent in (envelope(household_problem(before)), env, envelope(household_problem(after))):
        await send(audit.producer, dataclasses.replace(sent, subject=key))
    async with audit.runner(handlers):
        dlq = await read_until(audit.kafka, dead_letter_topic(HOUSEHOLDS_TOPIC), lambda rs: env.id in map(ce_id, rs))
        await eventually(lambda: audit.findings(after))
    dead = next(dict(r.headers) for r in dlq if ce_id(r) == env.id)
    assert dead["dlq_error_type"] == b"LookupError" and dead["dlq_attempts"] == b"3"
    assert attempts == [env.id] * 3
    assert (await audit.findings(before), await audit.findings(after)) == (1, 1)


async def test_dead_letters_replayed_after_a_fix_are_applied(audit: Audit) -> None:
    from shared.messaging.dlq import replay

    broken = {"on": True}
    applied: list[str] = []
    handlers = HandlerRegistry()

    @handlers.on(HouseholdProblemFound)
    async def until_fixed(session: AsyncSession, event: HouseholdProblemFound, env: Envelope) -> None:
        if event.found_by == audit.group and broken["on"]:
            raise LookupError("reference data missing")
        applied.append(env.id)

    env = envelope(household_problem(uuid.uuid4(), found_by=audit.group))
    await send(audit.producer, env)
    async with audit.runner(handlers):
        await read_until(audit.kafka, dead_letter_topic(HOUSEHOLDS_TOPIC), lambda rs: env.id in map(ce_id, rs))
        broken["on"] = False
        report = await replay(
            dead_letter_topic(HOUSEHOLDS_TOPIC), bootstrap_servers=audit.kafka, group_id=f"{audit.group}-replay"
        )
        assert report.replayed >= 1
        await eventually(lambda: env.id in applied)
    assert applied.count(env.id) == 1

"""A problem event with a value too long for audit's finding is dead-lettered on its first attempt, as malformed: the
contract refuses it when the event is read, before any transaction, instead of the database after every retry."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from shared.contracts import ALL_TOPICS, HOUSEHOLDS_TOPIC, dead_letter_topic
from shared.db import create_engine
from shared.messaging.kafka import ensure_topics, make_producer
from tests.integration.test_consumer_inbox import Audit, envelope, keyed_like, send
from tests.kafka_support import ce_id, eventually, read_until
from tests.support import household_problem

pytestmark = pytest.mark.integration

TOO_LONG = {"area_code": "3" * 13, "code": "c" * 61, "description": "d" * 1001}  # one past audit's finding columns


@pytest.fixture
async def audit(kafka: str, pg_database: Any) -> AsyncIterator[Audit]:
    await ensure_topics(kafka, ALL_TOPICS)
    engine = create_engine(await pg_database("audit"))
    producer = make_producer(kafka, client_id="test-limits-producer")
    await producer.start()
    try:
        yield Audit(async_sessionmaker(engine, expire_on_commit=False), kafka, producer)
    finally:
        await producer.stop()
        await engine.dispose()


@pytest.mark.parametrize("field", sorted(TOO_LONG))
async def test_a_value_too_long_for_its_column_is_dead_lettered_at_once(audit: Audit, field: str) -> None:
    household, marker = uuid.uuid4(), uuid.uuid4()
    env = envelope(household_problem(household))
    data = json.loads(env.data) | {field: TOO_LONG[field]}
    await send(audit.producer, env, value=json.dumps(data).encode())
    await send(audit.producer, keyed_like(env, household_problem(marker)))
    async with audit.runner():
        dlq = await read_until(audit.kafka, dead_letter_topic(HOUSEHOLDS_TOPIC), lambda rs: env.id in map(ce_id, rs))
        await eventually(lambda: audit.findings(marker))
    dead = next(dict(r.headers) for r in dlq if ce_id(r) == env.id)
    assert dead["dlq_attempts"] == b"1" and dead["dlq_error_type"] == b"ValidationError", dead
    assert field.encode() in dead["dlq_error_message"]
    assert TOO_LONG[field].encode() not in dead["dlq_error_message"]
    assert await audit.findings(household) == 0

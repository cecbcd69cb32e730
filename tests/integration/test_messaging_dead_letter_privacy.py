"""On real PostgreSQL: a handler's database error is dead-lettered by SQLSTATE and constraint, never by the row."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import HOUSEHOLDS_TOPIC
from shared.db import create_engine, session_factory
from shared.messaging.cloudevents import Envelope
from shared.messaging.consumer import ConsumerRunner
from shared.messaging.handlers import HandlerRegistry
from tests.unit.test_messaging_consumer_failures import NAME, PHONE, FakeDeadLetters, record, told_in_logs

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("statement", "sqlstate", "constraint"),
    [
        ("INSERT INTO member (name, phone, area) VALUES (:name, :phone, NULL)", b"23502", None),
        ("INSERT INTO member (name, phone, area) VALUES (:name, :phone, 'a'), (:name, :phone, 'a')", b"23505",
         b"member_phone_key"),
    ],
)  # fmt: skip
async def test_a_constraint_violation_is_dead_lettered_without_the_failing_row(
    pg_database: Any, caplog: pytest.LogCaptureFixture, statement: str, sqlstate: bytes, constraint: bytes | None
) -> None:
    engine = create_engine(await pg_database("audit"))
    async with engine.begin() as conn:
        await conn.execute(
            text("CREATE TABLE member (id serial PRIMARY KEY, name text, phone text UNIQUE, area text NOT NULL)")
        )
    handlers = HandlerRegistry()

    @handlers.observe(HOUSEHOLDS_TOPIC)
    async def buggy(session: AsyncSession, env: Envelope, topic: str) -> None:
        await session.execute(text(statement), {"name": NAME, "phone": PHONE})

    dlq = FakeDeadLetters()
    runner = ConsumerRunner(
        name="t", handlers=handlers, sessions=session_factory(engine), consumer=None,
        dlq_producer=dlq, backoff_s=0.001, max_attempts=2,
    )  # fmt: skip
    try:
        with caplog.at_level(logging.DEBUG, logger="shared.messaging"):
            assert await runner.process([record(0)]) == ["dead_lettered"]
    finally:
        await engine.dispose()
    [(_, headers)] = dlq.sent
    assert headers["dlq_error_type"] == b"IntegrityError" and headers["dlq_error_sqlstate"] == sqlstate
    assert headers.get("dlq_error_constraint") == constraint
    told = repr(headers) + told_in_logs(caplog)
    assert NAME not in told and PHONE not in told and "Failing row" not in told

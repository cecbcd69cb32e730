"""Audit applies a batch of problems with one look-up of open findings, also when each was reported late."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.audit.handlers import build_handlers
from services.audit.models import Finding
from services.audit.settings import AuditSettings
from shared.contracts import HOUSEHOLDS_TOPIC
from shared.db import create_engine, session_factory
from shared.messaging.consumer import ConsumerRunner
from tests.support import envelope_of, household_problem


def late_problems(count: int) -> list[ConsumerRecord[bytes, bytes]]:
    """Problems found long before they are reported: each opens a finding and one of late reporting (迟报)."""
    envelopes = [
        envelope_of(household_problem(uuid.uuid4()).model_copy(update={"found_on": date(2020, 5, 12)}))
        for _ in range(count)
    ]
    return [
        ConsumerRecord(HOUSEHOLDS_TOPIC, 0, n, 0, 0, e.subject.encode(), e.data, None, 0, 0, e.to_headers())
        for n, e in enumerate(envelopes)
    ]


@pytest.fixture
async def engine(sqlite_url: Callable[[str], Awaitable[str]]) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(await sqlite_url("audit"))
    yield engine
    await engine.dispose()


async def test_late_reported_problems_look_their_open_findings_up_once_a_batch(engine: AsyncEngine) -> None:
    look_ups: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM finding" in statement:
            look_ups.append(statement)

    none: Any = None  # no record here is poison: neither Kafka consumer nor dead-letter producer is reached
    handlers = build_handlers(AuditSettings(database_url="unused"))
    runner = ConsumerRunner(name="audit", handlers=handlers, sessions=session_factory(engine), consumer=none,
                            dlq_producer=none)  # fmt: skip
    assert await runner.process(late_problems(20)) == ["applied"] * 20
    assert len(look_ups) == 1
    async with session_factory(engine)() as session:
        assert await session.scalar(select(func.count()).select_from(Finding)) == 40  # each problem's and its lateness

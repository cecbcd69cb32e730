"""Households' open findings from a batch of audit's events: one look-up for the batch, the same rows as one by one."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.households.handlers import build_handlers
from services.households.models import HouseholdOpenFinding
from services.households.settings import HouseholdsSettings
from shared.contracts import AUDIT_TOPIC, IntegrationEvent
from shared.contracts.audit import (
    DisciplineReferralMade,
    FindingRecorded,
    RectificationClosed,
    RectificationOpened,
    Severity,
    SubjectKind,
)
from shared.contracts.households import ProblemCategory
from shared.db import create_engine, session_factory
from shared.messaging.consumer import ConsumerRunner
from tests.support import envelope_of

HANDLERS = build_handlers(HouseholdsSettings(database_url="unused"))
DEADLINE = datetime(2020, 8, 31, tzinfo=UTC)


def recorded(finding: uuid.UUID, household: uuid.UUID) -> FindingRecorded:
    return FindingRecorded(
        finding_id=finding,
        subject_kind=SubjectKind.HOUSEHOLD,
        subject_id=str(household),
        area_code="371523101201",
        category=ProblemCategory.HOUSING,
        code="housing_unsafe",
        severity=Severity.SEVERE,
        description="Housing appraised grade D",
    )


def about(finding: uuid.UUID, household: uuid.UUID) -> dict[str, Any]:
    return {"finding_id": finding, "subject_kind": SubjectKind.HOUSEHOLD, "subject_id": str(household)}


def stream() -> list[IntegrationEvent]:
    """Ten findings recorded, opened and referred; one closed before its recording arrives; one of a project."""
    household = uuid.uuid4()
    events: list[IntegrationEvent] = []
    for _ in range(10):
        finding = uuid.uuid4()
        task = {"task_id": uuid.uuid4()}
        events += [
            recorded(finding, household),
            RectificationOpened(**about(finding, household), **task, owner="cadre-1", deadline=DEADLINE),
            DisciplineReferralMade(**about(finding, household), referral_id=uuid.uuid4(), reason="severe"),
        ]
    early = uuid.uuid4()
    events += [
        RectificationClosed(**about(early, household), task_id=uuid.uuid4(), closed_by="officer-1"),
        recorded(early, household),
    ]
    project = FindingRecorded(**{**recorded(uuid.uuid4(), household).model_dump(), "subject_kind": SubjectKind.PROJECT})
    return [*events, project]


def records(events: list[IntegrationEvent]) -> list[ConsumerRecord[bytes, bytes]]:
    start = datetime.now(UTC)
    envelopes = [envelope_of(e, at=start + timedelta(seconds=n)) for n, e in enumerate(events)]
    return [
        ConsumerRecord(AUDIT_TOPIC, 0, n, 0, 0, e.subject.encode(), e.data, None, 0, 0, e.to_headers())
        for n, e in enumerate(envelopes)
    ]


def runner(engine: AsyncEngine, batch_size: int) -> ConsumerRunner:
    none: Any = None  # no record here is poison: neither Kafka consumer nor dead-letter producer is reached
    sessions = session_factory(engine)
    return ConsumerRunner(
        name="households", handlers=HANDLERS, sessions=sessions, consumer=none, dlq_producer=none, batch_size=batch_size
    )


async def rows(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    async with session_factory(engine)() as session:
        found = (await session.scalars(select(HouseholdOpenFinding))).all()
    return sorted((f.finding_id, f.rectification_deadline, f.referred, f.closed, f.severity) for f in found)


@pytest.fixture
async def engines(sqlite_url: Callable[[str], Awaitable[str]]) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    batched, alone = create_engine(await sqlite_url("households")), create_engine(await sqlite_url("households"))
    yield batched, alone
    await batched.dispose()
    await alone.dispose()


async def test_a_batch_looks_its_open_findings_up_in_one_query(engines: tuple[AsyncEngine, AsyncEngine]) -> None:
    engine = engines[0]
    look_ups: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "openproblem" in statement:
            look_ups.append(statement)

    events = stream()
    assert await runner(engine, batch_size=100).process(records(events)) == ["applied"] * len(events)
    assert len(look_ups) == 1


async def test_a_batch_leaves_the_rows_one_event_per_transaction_leaves(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    batched, alone = engines
    events = stream()
    await runner(batched, batch_size=100).process(records(events))
    await runner(alone, batch_size=1).process(records(events))
    found = await rows(batched)
    assert found == await rows(alone)
    assert len(found) == 11
    assert sum(closed for *_, closed, _ in found) == 1
    assert all(deadline is not None and referred for _, deadline, referred, closed, _ in found if not closed)

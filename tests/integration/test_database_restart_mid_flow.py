"""A database restart in the middle of a flow, as clients see it: every connection cut, again and again.

Audit runs with its consumer and outbox relay on real PostgreSQL and Kafka while problems found on visits stream
in on `households.events`; every half second, a few times, all of the database's connections are ended
(`pg_terminate_backend`, what a restart or a failover does to clients), so transactions die at every stage:
applying a batch, recording the inbox, publishing and marking the outbox. Afterwards, with no help:
- every event was applied exactly once, half of them delivered twice: its inbox entry, one finding with one
  occurrence;
- every finding's event was published, at least once, and each is one row of the outbox, none left unpublished;
- nothing was dead-lettered, and the service says it is ready;
- order per key held both ways: a household's two problems were applied in the order sent (their findings'
  events were recorded in that order), and each finding's events reached the topic in the order recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from services.audit.models import Finding
from shared.contracts import ALL_TOPICS, AUDIT_TOPIC, HOUSEHOLDS_TOPIC, dead_letter_topic
from shared.contracts.audit import FindingRecorded
from shared.contracts.households import HouseholdProblemFound, ProblemCategory
from shared.db import create_engine
from shared.messaging.cloudevents import Envelope
from shared.messaging.inbox import InboxEntry
from shared.messaging.kafka import ensure_topics, make_producer
from shared.messaging.outbox import OutboxMessage
from shared.timeutil import district_today
from tests.kafka_support import ce_id, eventually, read_until
from tests.support import running_app

pytestmark = pytest.mark.integration

HOUSEHOLDS = 150  # two problems each: 300 events
PROBLEMS = (
    (ProblemCategory.SCHOOLING, "school_dropout", "child out of school"),
    (ProblemCategory.MEDICAL, "medical_uninsured", "no medical insurance"),
)
CUTS, CUT_EVERY_S = 6, 0.5


def problem_envelope(household: uuid.UUID, category: ProblemCategory, code: str, description: str) -> Envelope:
    event = HouseholdProblemFound(
        household_id=household,
        problem_id=uuid.uuid4(),
        visit_id=uuid.uuid4(),
        area_code="371523101201",
        category=category,
        code=code,
        description=description,
        found_on=district_today(),
        found_by="cadre-7",
    )
    return Envelope(
        id=str(uuid.uuid4()),
        type=event.event_type,
        source="/tests",
        subject=event.aggregate_id(),
        time=datetime.now(UTC),
        data=event.model_dump_json().encode(),
    )


@contextlib.asynccontextmanager
async def audit_running(kafka: str, url: str) -> AsyncIterator[httpx.AsyncClient]:
    options: dict[str, Any] = {"kafka_enabled": True, "kafka_bootstrap_servers": kafka, "outbox_poll_interval_s": 0.5}
    # Small batches: the flow spans many transactions, so the cuts land in the middle of some.
    async with running_app("audit", url, consumer_batch_size=10, **options) as (app, client):
        await eventually(lambda: app.state.runtime.kafka_started, timeout=60)
        yield client


async def cut_every_connection(engine: AsyncEngine) -> int:
    """End every other connection to the database, as a restart does; how many were ended."""
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        others = "pid <> pg_backend_pid() AND datname = current_database()"
        ended = await conn.scalars(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {others}"))
        return sum(1 for done in ended if done)


async def keep_cutting(engine: AsyncEngine) -> int:
    ended = 0
    for _ in range(CUTS):
        await asyncio.sleep(CUT_EVERY_S)
        ended += await cut_every_connection(engine)
    return ended


async def send_problems(kafka: str, envelopes: list[Envelope]) -> None:
    """Published in batches of ten over about three seconds, while the connections are being cut; every other
    batch twice, as a publisher's relay does when a restart of its own database loses its marks."""
    producer = make_producer(kafka, client_id="test-problems")
    await producer.start()
    try:
        for start in range(0, len(envelopes), 10):
            batch = envelopes[start : start + 10]
            for env in batch * (2 if start % 20 else 1):
                await producer.send_and_wait(
                    HOUSEHOLDS_TOPIC, env.data, key=env.subject.encode(), headers=env.to_headers()
                )
            await asyncio.sleep(0.1)
    finally:
        await producer.stop()


async def applied(engine: AsyncEngine, ids: set[str]) -> int:
    async with engine.connect() as conn:
        stmt = select(func.count()).select_from(InboxEntry).where(col(InboxEntry.event_id).in_(ids))
        return int(await conn.scalar(stmt) or 0)


async def unpublished(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        stmt = select(func.count()).select_from(OutboxMessage).where(col(OutboxMessage.published_at).is_(None))
        return int(await conn.scalar(stmt) or 0)


async def test_a_flow_survives_its_database_restarting_again_and_again(kafka: str, pg_database: Any) -> None:
    await ensure_topics(kafka, ALL_TOPICS)
    url = await pg_database("audit")
    households = [uuid.uuid4() for _ in range(HOUSEHOLDS)]
    envelopes = [problem_envelope(h, *problem) for h in households for problem in PROBLEMS]
    ids = {env.id for env in envelopes}
    engine = create_engine(url)
    try:
        async with audit_running(kafka, url) as client:
            cutting = asyncio.create_task(keep_cutting(engine))
            await send_problems(kafka, envelopes)
            assert await cutting > 0, "no connection was cut: the flow did not meet a restart"
            await eventually(lambda: _all(applied(engine, ids), len(ids)), timeout=120, interval=0.5)
            await eventually(lambda: _all(unpublished(engine), 0), timeout=60, interval=0.5)
            assert (await client.get("/readyz")).status_code == 200
        assert not await dead_lettered(kafka, ids)
        outbox = await recorded_findings(engine)
        await findings_applied_once(engine, households)
        await published_in_order(kafka, outbox)
        sent_order_kept(outbox, households)
    finally:
        await engine.dispose()


async def dead_lettered(kafka: str, ids: set[str]) -> set[str]:
    """Ours among the dead letters: a restart is no poison, nothing may be set aside for it."""
    records = await read_until(kafka, dead_letter_topic(HOUSEHOLDS_TOPIC), lambda _: True, settle=2.0)
    return {ce_id(r) for r in records} & ids


async def _all(count: Any, expected: int) -> bool:
    return bool(await count == expected)


async def recorded_findings(engine: AsyncEngine) -> list[OutboxMessage]:
    """Audit's outbox, in the order it was recorded."""
    async with engine.connect() as conn:
        rows = (await conn.execute(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    return [OutboxMessage.model_validate(row._mapping) for row in rows]


async def findings_applied_once(engine: AsyncEngine, households: list[uuid.UUID]) -> None:
    async with engine.connect() as conn:
        stmt = select(col(Finding.subject_id), col(Finding.code), col(Finding.occurrences)).where(
            col(Finding.subject_id).in_([str(h) for h in households])
        )
        found = (await conn.execute(stmt)).all()
    assert len(found) == len(households) * len(PROBLEMS)
    assert {(subject, code) for subject, code, _ in found} == {(str(h), p[1]) for h in households for p in PROBLEMS}
    assert {occurrences for _, _, occurrences in found} == {1}


async def published_in_order(kafka: str, outbox: list[OutboxMessage]) -> None:
    """Every outbox row is on the topic (at least once); each key's first sightings follow the outbox's order."""
    ours = {row.event_id for row in outbox if row.topic == AUDIT_TOPIC}
    assert len(ours) == len([row for row in outbox if row.topic == AUDIT_TOPIC])  # one row per event
    records = await read_until(kafka, AUDIT_TOPIC, lambda rs: ours <= {ce_id(r) for r in rs}, timeout=60)
    seen: dict[str, list[str]] = defaultdict(list)
    for record in records:
        key, event_id = (record.key or b"").decode(), ce_id(record)
        if event_id in ours and event_id not in seen[key]:
            seen[key].append(event_id)
    recorded: dict[str, list[str]] = defaultdict(list)
    for row in outbox:
        if row.topic == AUDIT_TOPIC:
            recorded[row.key].append(row.event_id)
    assert seen == recorded


def sent_order_kept(outbox: list[OutboxMessage], households: list[uuid.UUID]) -> None:
    """Each of our households' findings were recorded in the order its problems were sent (the topic is shared with
    the suite's other tests: their households' findings are theirs)."""
    ours = {str(h) for h in households}
    codes: dict[str, list[str]] = defaultdict(list)
    for row in outbox:
        payload = json.loads(row.payload)
        if row.event_type == FindingRecorded.event_type and payload["subject_id"] in ours:
            codes[payload["subject_id"]].append(payload["code"])
    assert set(codes) == ours and all(found == [p[1] for p in PROBLEMS] for found in codes.values()), codes

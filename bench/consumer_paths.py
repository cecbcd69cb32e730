"""The events and handlers `consumer_throughput.py` drives: one-row, households' open findings, audit's problems."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from services.households.models import Household, HouseholdOpenFinding
from shared.contracts import IntegrationEvent
from shared.contracts.audit import FindingRecorded, Severity, SubjectKind
from shared.contracts.households import HouseholdProblemFound, ProblemCategory
from shared.db import create_engine
from shared.entities import new_entity
from shared.local.kafka import LocalKafka
from shared.messaging.cloudevents import Envelope
from shared.messaging.handlers import HandlerRegistry
from shared.open_findings import track_open_findings

DESCRIPTION = "bench: consumer throughput"  # marks the open findings the benchmark wrote, to delete them after


class BenchRow(SQLModel, table=True):
    """The one row the one-row handler writes."""

    __tablename__ = "bench_consumer_row"

    event_id: str = Field(primary_key=True, max_length=36)
    finding_id: uuid.UUID


def one_row_handlers() -> HandlerRegistry:
    handlers = HandlerRegistry()

    @handlers.on(FindingRecorded)
    async def one_row(session: AsyncSession, event: FindingRecorded, envelope: Envelope) -> None:
        session.add(new_entity(BenchRow, event_id=envelope.id, finding_id=event.finding_id))

    return handlers


def open_finding_handlers() -> HandlerRegistry:
    handlers = HandlerRegistry()
    track_open_findings(handlers, HouseholdOpenFinding, kind=SubjectKind.HOUSEHOLD, subject="household_id")
    return handlers


def finding_envelopes(households: list[uuid.UUID], count: int) -> list[Envelope]:
    """`FindingRecorded` events, each a new finding about one of `households`."""
    envelopes = []
    for n in range(count):
        event = FindingRecorded(
            finding_id=uuid.uuid4(),
            subject_kind=SubjectKind.HOUSEHOLD,
            subject_id=str(households[n % len(households)]),
            area_code="371523101201",
            category=ProblemCategory.HOUSING,
            code="housing_unsafe",
            severity=Severity.SEVERE,
            description=DESCRIPTION,
        )
        envelopes.append(_envelope(event))
    return envelopes


def problem_envelopes(count: int, *, found_on: date) -> list[Envelope]:
    """D-grade houses of distinct households: for audit a finding, a task and a referral each; found long before
    they are reported (`found_on` in the past), also a finding of late reporting and its task."""
    envelopes = []
    for _ in range(count):
        event = HouseholdProblemFound(
            household_id=uuid.uuid4(),
            problem_id=uuid.uuid4(),
            visit_id=uuid.uuid4(),
            area_code="371523101201",
            category=ProblemCategory.HOUSING,
            code="housing_unsafe",
            description="Housing appraised grade D (unsafe) at the visit.",
            housing_grade="D",
            found_on=found_on,
            found_by="bench",
        )
        envelopes.append(_envelope(event))
    return envelopes


def _envelope(event: IntegrationEvent) -> Envelope:
    return Envelope(
        id=str(uuid.uuid4()),
        type=event.event_type,
        source="/bench",
        subject=event.aggregate_id(),
        time=datetime.now(UTC),
        data=event.model_dump_json().encode(),
    )


async def seed_households(url: str, count: int) -> None:
    engine = create_engine(url)
    now = datetime.now(UTC)
    rows = [
        {
            "id": uuid.uuid4(),
            "household_code": f"BENCH-{n}",
            "area_code": "371523101201",
            "head_name": "bench",
            "registered_at": now,
        }
        for n in range(count)
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(Household), rows)
    await engine.dispose()


async def households_of(url: str, count: int) -> list[uuid.UUID]:
    """Up to `count` households of the database, and the tables the benchmark writes."""
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: BenchRow.__table__.create(sync, checkfirst=True))  # type: ignore[attr-defined]
        found = list((await conn.scalars(select(col(Household.id)).limit(count))).all())
    await engine.dispose()
    if not found:
        raise SystemExit("the households database holds no household")
    return found


async def remove_bench_rows(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(delete(HouseholdOpenFinding).where(col(HouseholdOpenFinding.description) == DESCRIPTION))
        await conn.run_sync(BenchRow.__table__.drop)  # type: ignore[attr-defined]
    await engine.dispose()


@contextlib.asynccontextmanager
async def kafka_broker(given: str | None, workdir: Path) -> AsyncIterator[str]:
    """The bootstrap address of `given`, or of a broker started for the run."""
    if given:
        yield given
        return
    async with LocalKafka(data_dir=workdir / "kafka") as broker:
        yield broker.bootstrap_servers

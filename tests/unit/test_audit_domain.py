"""Audit use cases on a migrated SQLite file: auto-open, de-duplication, referral, events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.audit import domain
from services.audit.models import DisciplineReferral, Finding, RectificationTask
from services.audit.rules import DeadlinePolicy, ProblemFacts
from shared.contracts.audit import SubjectKind
from shared.contracts.households import ProblemCategory
from shared.db import create_engine, unit_of_work
from shared.messaging.outbox import OutboxMessage

NOW = datetime(2020, 5, 1, tzinfo=UTC)
POLICY = DeadlinePolicy()


def facts(household: str = "h1", code: str = "housing_unsafe", grade: str | None = "D") -> ProblemFacts:
    return ProblemFacts(
        subject_kind=SubjectKind.HOUSEHOLD,
        subject_id=household,
        area_code="371523101201",
        category=ProblemCategory.HOUSING,
        code=code,
        description="unsafe house",
        source_ref="p",
        housing_grade=grade,
    )


@pytest.fixture
async def sessions(sqlite_url: Any) -> Any:
    engine = create_engine(await sqlite_url("audit"))
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def count(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def events(session: AsyncSession) -> list[str]:
    rows = await session.scalars(select(OutboxMessage.event_type).order_by(OutboxMessage.id))  # type: ignore[arg-type]
    return [t.split(".")[3] for t in rows.all()]


async def test_severe_finding_opens_task_and_referral_with_events(sessions: Any) -> None:
    async with unit_of_work(sessions) as s:
        finding = await domain.record_finding(s, facts(), policy=POLICY, now=NOW)
    async with sessions() as s:
        task = (await s.scalars(select(RectificationTask))).one()
        assert task.finding_id == finding.id and task.deadline == POLICY.deadline(finding.severity, NOW)  # type: ignore[arg-type]
        assert (await s.scalars(select(DisciplineReferral))).one().reason == "severe_finding"
        assert await events(s) == ["finding_recorded", "rectification_opened", "discipline_referral_made"]


async def test_serious_finding_opens_a_task_but_no_referral(sessions: Any) -> None:
    async with unit_of_work(sessions) as s:
        await domain.record_finding(s, facts(grade="C"), policy=POLICY, now=NOW)
    async with sessions() as s:
        assert await count(s, RectificationTask) == 1
        assert await count(s, DisciplineReferral) == 0


async def test_repeat_of_an_open_problem_adds_an_occurrence(sessions: Any) -> None:
    for _ in range(3):
        async with unit_of_work(sessions) as s:
            await domain.record_finding(s, facts(), policy=POLICY, now=NOW)
    async with sessions() as s:
        assert (await s.scalars(select(Finding.occurrences))).all() == [3]
        assert await count(s, RectificationTask) == 1
        assert await count(s, DisciplineReferral) == 1
        assert (await events(s)).count("finding_recurred") == 2


async def test_other_subjects_or_problems_are_separate_findings(sessions: Any) -> None:
    async with unit_of_work(sessions) as s:
        await domain.record_finding(s, facts("h1"), policy=POLICY, now=NOW)
        await domain.record_finding(s, facts("h2"), policy=POLICY, now=NOW)
        await domain.record_finding(s, facts("h1", code="school_dropout", grade=None), policy=POLICY, now=NOW)
    async with sessions() as s:
        assert await count(s, Finding) == 3

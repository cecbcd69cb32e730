"""Builders shared by the audit unit tests: problems, people, a migrated SQLite database (no tests here)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.audit.domain import findings
from services.audit.models import Finding, RectificationTask
from services.audit.rules.findings import DeadlinePolicy, EvidenceRef, ProblemFacts
from shared.auth import Principal, Role
from shared.contracts.audit import SubjectKind
from shared.contracts.households import ProblemCategory
from shared.db import unit_of_work
from shared.messaging.outbox import OutboxMessage

VILLAGE = "371523101201"  # a village of 贾寨镇
TOWNSHIP = "371523101"
OTHER_TOWNSHIP = "371523105"
NOW = datetime(2020, 5, 11, 2, tzinfo=UTC)  # Monday 10:00 in the district: ISO week 2020-W20
POLICY = DeadlinePolicy()
PHOTO = EvidenceRef(kind="photo", reference="archive://2020/05/house-h1.jpg", note="rebuilt wall")


def facts(
    subject: str = "h1",
    code: str = "housing_unsafe",
    grade: str | None = "D",
    category: ProblemCategory = ProblemCategory.HOUSING,
    area: str = VILLAGE,
    **extra: Any,
) -> ProblemFacts:
    return ProblemFacts(
        subject_kind=SubjectKind.HOUSEHOLD,
        subject_id=subject,
        area_code=area,
        category=category,
        code=code,
        description=f"{code} at {subject}",
        source_ref="p",
        housing_grade=grade,
        **extra,
    )


def person(*roles: Role, subject: str, area: str | None = None) -> Principal:
    return Principal(subject=subject, roles=frozenset(roles), area=area)


TOWNSHIP_OFFICER = person(Role.TOWNSHIP_OFFICE, subject="township-officer-1", area=TOWNSHIP)
TOWNSHIP_COLLEAGUE = person(Role.TOWNSHIP_OFFICE, subject="township-officer-2", area=TOWNSHIP)
OTHER_TOWNSHIP_OFFICER = person(Role.TOWNSHIP_OFFICE, subject="township-officer-9", area=OTHER_TOWNSHIP)
INSPECTOR = person(Role.INSPECTOR, subject="inspector-1")
DISTRICT = person(Role.DISTRICT_OFFICE, subject="district-officer-1")
COMMISSION = person(Role.DISCIPLINE_COMMISSION, subject="commission-1")


async def count(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def events(session: AsyncSession) -> list[str]:
    """Short names of the outbox's events, in order: `finding_recorded`, ..."""
    rows = await session.scalars(select(col(OutboxMessage.event_type)).order_by(col(OutboxMessage.id)))
    return [t.split(".")[3] for t in rows.all()]


async def open_task(
    sessions: async_sessionmaker[AsyncSession], problem: ProblemFacts | None = None, now: datetime = NOW
) -> tuple[Finding, RectificationTask]:
    """Record a problem in its own transaction; return its finding and task."""
    async with unit_of_work(sessions) as s:
        finding = await findings.record_finding(s, problem or facts(grade="C"), policy=POLICY, now=now)
    async with sessions() as s:
        task = (await s.scalars(select(RectificationTask).where(col(RectificationTask.finding_id) == finding.id))).one()
    return finding, task

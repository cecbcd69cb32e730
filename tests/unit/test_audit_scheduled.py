"""The scheduled checks with an explicit clock (no sleeps): reminders, overdue + referral, weekly handover."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col

from services.audit.domain import rectification, scheduled
from services.audit.domain.referrals import hand_over_serious_findings
from services.audit.models import DisciplineReferral, Finding, RectificationTask
from services.audit.rules.periods import IsoWeek
from services.audit.settings import AuditSettings
from shared.contracts.households import ProblemCategory
from shared.db import create_engine, unit_of_work
from shared.messaging.outbox import OutboxMessage
from tests.kafka_support import eventually
from tests.unit.test_audit_support import NOW, PHOTO, TOWNSHIP_OFFICER, count, events, facts, open_task

SETTINGS = AuditSettings(database_url="unused", due_soon_days=2, scan_batch_size=2)


@pytest.fixture
async def sessions(sqlite_url: Any) -> Any:
    engine = create_engine(await sqlite_url("audit"))
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def overdue(sessions: async_sessionmaker[Any], now: Any) -> list[RectificationTask]:
    async with unit_of_work(sessions) as s:
        return await scheduled.mark_overdue(s, now=now)


async def test_a_task_past_its_deadline_is_marked_once_and_referred(sessions: Any) -> None:
    _, task = await open_task(sessions)
    assert await overdue(sessions, task.deadline) == []  # at the deadline: not yet
    after = task.deadline + timedelta(seconds=1)
    assert [t.id for t in await overdue(sessions, after)] == [task.id]
    assert await overdue(sessions, after + timedelta(days=1)) == []  # never twice
    async with sessions() as s:
        referral = (await s.scalars(select(DisciplineReferral))).one()
        marked = await s.get(RectificationTask, task.id)
        assert (referral.reason, referral.task_id, referral.referred_at) == ("overdue_task", task.id, after)
        assert marked is not None and marked.overdue_at == after
        assert (await events(s))[-2:] == ["rectification_overdue", "discipline_referral_made"]


async def test_a_new_deadline_lets_the_task_fall_overdue_again(sessions: Any) -> None:
    _, task = await open_task(sessions)
    first = task.deadline + timedelta(seconds=1)
    assert [t.id for t in await overdue(sessions, first)] == [task.id]
    extended = task.deadline + timedelta(days=10)
    async with unit_of_work(sessions) as s:
        await rectification.reschedule_task(
            s, task.id, deadline=extended, reason="extension", actor=TOWNSHIP_OFFICER, now=first
        )
    assert await overdue(sessions, extended) == []  # within the extension
    assert [t.id for t in await overdue(sessions, extended + timedelta(seconds=1))] == [task.id]
    async with sessions() as s:
        reasons = (await s.scalars(select(DisciplineReferral.reason))).all()
    assert reasons == ["overdue_task", "overdue_task"]


async def test_a_submitted_task_waiting_for_its_check_is_not_overdue(sessions: Any) -> None:
    _, task = await open_task(sessions)
    async with unit_of_work(sessions) as s:
        await rectification.start_task(s, task.id, actor=TOWNSHIP_OFFICER, now=NOW)
        await rectification.submit_task(s, task.id, summary="done", evidence=[PHOTO], actor=TOWNSHIP_OFFICER, now=NOW)
    assert await overdue(sessions, task.deadline + timedelta(days=30)) == []


async def test_a_submission_that_waited_for_the_overdue_check_is_recorded_after_it(sessions: Any) -> None:
    _, task = await open_task(sessions)
    marked_at = task.deadline + timedelta(milliseconds=200)
    assert [t.id for t in await overdue(sessions, marked_at)] == [task.id]
    read_before_the_wait = task.deadline - timedelta(milliseconds=200)  # the request's clock, read before the lock
    async with unit_of_work(sessions) as s:
        await rectification.start_task(s, task.id, actor=TOWNSHIP_OFFICER, now=read_before_the_wait)
        submission = await rectification.submit_task(
            s, task.id, summary="done", evidence=[PHOTO], actor=TOWNSHIP_OFFICER, now=read_before_the_wait
        )
    async with sessions() as s:
        submitted = await s.get(RectificationTask, task.id)
    assert submitted is not None and submitted.submitted_at == submission.submitted_at == marked_at


async def test_reminder_before_the_deadline_once_per_deadline(sessions: Any) -> None:
    _, task = await open_task(sessions)
    lead = timedelta(days=2)

    async def remind(now: Any) -> list[RectificationTask]:
        async with unit_of_work(sessions) as s:
            return await scheduled.remind_due_soon(s, now=now, lead=lead)

    assert await remind(task.deadline - lead - timedelta(seconds=1)) == []
    assert [t.id for t in await remind(task.deadline - lead)] == [task.id]
    assert await remind(task.deadline - timedelta(hours=1)) == []
    async with unit_of_work(sessions) as s:  # a new deadline re-arms it
        await rectification.reschedule_task(
            s, task.id, deadline=task.deadline + timedelta(days=5), reason="extension", actor=TOWNSHIP_OFFICER, now=NOW
        )
    assert [t.id for t in await remind(task.deadline + timedelta(days=4))] == [task.id]
    async with sessions() as s:
        assert (await events(s)).count("rectification_due_soon") == 2


async def test_weekly_handover_refers_serious_findings_once(sessions: Any) -> None:
    serious, _ = await open_task(sessions, facts("h1", grade="C"))
    await open_task(sessions, facts("h2", code="file_incomplete", grade=None, category=ProblemCategory.POLICY_DELIVERY))
    await open_task(sessions, facts("h3", grade="D"))  # severe: referred at once already
    next_week = IsoWeek.of(NOW + timedelta(days=7))
    for _ in range(2):
        async with unit_of_work(sessions) as s:
            await hand_over_serious_findings(s, recorded_before=next_week.starts_at, now=next_week.starts_at)
    async with sessions() as s:
        reasons = sorted((r.finding_id, r.reason) for r in (await s.scalars(select(DisciplineReferral))).all())
        handed = await s.get(Finding, serious.id)
    assert sorted(reason for _, reason in reasons) == ["severe_finding", "weekly_handover"]
    assert (serious.id, "weekly_handover") in reasons
    assert handed is not None and handed.referred_at == next_week.starts_at


async def test_the_scheduled_run_hands_over_only_before_the_current_week(sessions: Any) -> None:
    await open_task(sessions, facts("h1", grade="C"))
    this_week = await scheduled.run_checks(sessions, SETTINGS, now=NOW + timedelta(days=1))
    next_week = await scheduled.run_checks(sessions, SETTINGS, now=NOW + timedelta(days=7))
    assert (this_week.handed_over, next_week.handed_over) == (0, 1)


async def test_a_run_works_through_more_than_one_batch(sessions: Any) -> None:
    for n in range(5):  # batch size 2: three transactions
        await open_task(sessions, facts(f"h{n}", grade="C"))
    async with sessions() as s:
        deadline = (await s.scalars(select(col(RectificationTask.deadline)))).first()
    assert deadline is not None
    run = await scheduled.run_checks(sessions, SETTINGS, now=deadline + timedelta(days=1))
    assert (run.overdue, run.reminded, run.handed_over) == (5, 0, 0)  # referred as overdue: not handed over again
    async with sessions() as s:
        assert await count(s, DisciplineReferral) == 5
        assert (await events(s)).count("rectification_overdue") == 5
        assert await count(s, OutboxMessage) == 5 * 2 + 5 * 2  # recorded + opened, then overdue + referral


async def test_the_worker_runs_the_checks_with_its_clock(sessions: Any) -> None:
    _, task = await open_task(sessions)
    settings = AuditSettings(database_url="unused", overdue_scan_interval_s=0.01)
    worker = scheduled.scheduled_checks(settings, clock=lambda: task.deadline + timedelta(days=1))
    running = asyncio.create_task(worker(SimpleNamespace(sessions=sessions)))  # type: ignore[arg-type]

    async def marked() -> bool:
        async with sessions() as s:
            found = await s.get(RectificationTask, task.id)
            return found is not None and found.overdue_at == task.deadline + timedelta(days=1)

    try:
        await eventually(marked, timeout=10)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running

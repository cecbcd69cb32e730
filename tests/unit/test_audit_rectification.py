"""Rectification use cases on SQLite: the lifecycle, evidence, separation of duties, reopen, reschedule."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.audit.domain import campaigns, findings, rectification
from services.audit.models import (
    DeadlineChange,
    DisciplineReferral,
    Finding,
    FollowUpCheck,
    LedgerEntry,
    RectificationSubmission,
    RectificationTask,
)
from shared.contracts.audit import CampaignKind, ScopeLevel
from shared.db import create_engine, unit_of_work
from shared.errors import DomainError, Forbidden, InvalidInput, RuleViolation
from shared.messaging.outbox import OutboxMessage
from tests.unit.test_audit_support import (
    DISTRICT,
    INSPECTOR,
    NOW,
    OTHER_TOWNSHIP_OFFICER,
    PHOTO,
    POLICY,
    TOWNSHIP_COLLEAGUE,
    TOWNSHIP_OFFICER,
    count,
    events,
    facts,
    open_task,
    person,
)

LATER = NOW + timedelta(days=3)
SECOND_INSPECTOR = person(*INSPECTOR.roles, subject="inspector-2")


@pytest.fixture
async def sessions(sqlite_url: Any) -> Any:
    engine = create_engine(await sqlite_url("audit"))
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def task_of(sessions: async_sessionmaker[AsyncSession], task: RectificationTask) -> RectificationTask:
    async with sessions() as s:
        found = await s.get(RectificationTask, task.id)
        assert found is not None
        return found


async def snapshot(sessions: async_sessionmaker[AsyncSession]) -> tuple[object, ...]:
    """Everything a refused action must leave as it was."""
    async with sessions() as s:
        tasks = [t.model_dump() for t in (await s.scalars(select(RectificationTask))).all()]
        tables = (
            OutboxMessage,
            LedgerEntry,
            RectificationSubmission,
            FollowUpCheck,
            DisciplineReferral,
            DeadlineChange,
        )
        return (tasks, *[await count(s, table) for table in tables])


async def refused(sessions: async_sessionmaker[AsyncSession], error: type[DomainError], action: Any) -> DomainError:
    """Run `action(session)` in a unit of work; it must raise `error` and change nothing."""
    before = await snapshot(sessions)
    with pytest.raises(error) as caught:
        async with unit_of_work(sessions) as s:
            await action(s)
    assert await snapshot(sessions) == before
    return caught.value


async def started_and_submitted(sessions: async_sessionmaker[AsyncSession], task: RectificationTask) -> None:
    async with unit_of_work(sessions) as s:
        await rectification.start_task(s, task.id, actor=TOWNSHIP_OFFICER, now=NOW)
    async with unit_of_work(sessions) as s:
        await rectification.submit_task(
            s, task.id, summary="house rebuilt", evidence=[PHOTO], actor=TOWNSHIP_OFFICER, now=LATER
        )


async def check(
    session: AsyncSession, task: RectificationTask, *, passed: bool, actor: Any = INSPECTOR, campaign: Any = None
) -> FollowUpCheck:
    return await rectification.record_follow_up_check(
        session,
        task.id,
        passed=passed,
        notes="checked on site",
        campaign_id=campaign,
        actor=actor,
        now=LATER,
        policy=POLICY,
    )


async def test_open_start_submit_verify_close(sessions: Any) -> None:
    finding, task = await open_task(sessions)
    await started_and_submitted(sessions, task)
    async with unit_of_work(sessions) as s:
        await check(s, task, passed=True)
    async with unit_of_work(sessions) as s:
        await rectification.close_task(s, task.id, actor=DISTRICT, now=LATER)
    done = await task_of(sessions, task)
    assert (done.status, done.started_by, done.submitted_by, done.verified_by, done.closed_by) == (
        "closed",
        "township-officer-1",
        "township-officer-1",
        "inspector-1",
        "district-officer-1",
    )
    async with sessions() as s:
        closed = await s.get(Finding, finding.id)
        submission = (await s.scalars(select(RectificationSubmission))).one()
        assert closed is not None and (closed.status, closed.closed_at) == ("closed", LATER)
        assert submission.evidence == [PHOTO.as_json()]
        assert (await events(s))[2:] == [
            "rectification_started",
            "rectification_submitted",
            "rectification_verified",
            "rectification_closed",
        ]
        assert await count(s, DisciplineReferral) == 0  # serious, rectified in time: no lead


async def test_submitting_without_evidence_is_refused_and_changes_nothing(sessions: Any) -> None:
    _, task = await open_task(sessions)
    async with unit_of_work(sessions) as s:
        await rectification.start_task(s, task.id, actor=TOWNSHIP_OFFICER, now=NOW)
    error = await refused(
        sessions,
        RuleViolation,
        lambda s: rectification.submit_task(s, task.id, summary="done", evidence=[], actor=TOWNSHIP_OFFICER, now=NOW),
    )
    assert "evidence" in error.detail


async def test_closing_a_task_that_was_not_verified_is_refused(sessions: Any) -> None:
    _, task = await open_task(sessions)
    await refused(sessions, RuleViolation, lambda s: rectification.close_task(s, task.id, actor=DISTRICT, now=NOW))
    await started_and_submitted(sessions, task)
    await refused(sessions, RuleViolation, lambda s: rectification.close_task(s, task.id, actor=DISTRICT, now=NOW))


@pytest.mark.parametrize("verifier", [TOWNSHIP_OFFICER, TOWNSHIP_COLLEAGUE])
async def test_who_worked_the_task_or_its_unit_cannot_verify_it(sessions: Any, verifier: Any) -> None:
    _, task = await open_task(sessions)
    await started_and_submitted(sessions, task)
    await refused(sessions, Forbidden, lambda s: check(s, task, passed=True, actor=verifier))


async def test_a_district_officer_who_submitted_cannot_verify_but_a_colleague_can(sessions: Any) -> None:
    _, task = await open_task(sessions)
    async with unit_of_work(sessions) as s:
        await rectification.start_task(s, task.id, actor=TOWNSHIP_OFFICER, now=NOW)
        await rectification.submit_task(s, task.id, summary="done", evidence=[PHOTO], actor=DISTRICT, now=NOW)
    await refused(sessions, Forbidden, lambda s: check(s, task, passed=True, actor=DISTRICT))
    colleague = person(*DISTRICT.roles, subject="district-officer-2")
    async with unit_of_work(sessions) as s:
        await check(s, task, passed=True, actor=colleague)
    assert (await task_of(sessions, task)).verified_by == "district-officer-2"


async def test_who_started_an_earlier_round_cannot_verify_a_later_one(sessions: Any) -> None:
    _, task = await open_task(sessions)
    async with unit_of_work(sessions) as s:
        await rectification.start_task(s, task.id, actor=DISTRICT, now=NOW)
        await rectification.submit_task(s, task.id, summary="done", evidence=[PHOTO], actor=TOWNSHIP_OFFICER, now=NOW)
    async with unit_of_work(sessions) as s:
        await check(s, task, passed=False)
    await started_and_submitted(sessions, task)  # round two, by the township alone
    await refused(sessions, Forbidden, lambda s: check(s, task, passed=True, actor=DISTRICT))
    assert (await task_of(sessions, task)).starters == ["district-officer-1", TOWNSHIP_OFFICER.subject]


async def test_only_the_owning_township_works_the_task(sessions: Any) -> None:
    _, task = await open_task(sessions)
    await refused(
        sessions, Forbidden, lambda s: rectification.start_task(s, task.id, actor=OTHER_TOWNSHIP_OFFICER, now=NOW)
    )
    await refused(sessions, Forbidden, lambda s: rectification.start_task(s, task.id, actor=INSPECTOR, now=NOW))


async def test_a_failed_follow_up_reopens_with_a_new_deadline_and_refers(sessions: Any) -> None:
    finding, task = await open_task(sessions)
    await started_and_submitted(sessions, task)
    async with unit_of_work(sessions) as s:
        failed = await check(s, task, passed=False)
    reopened = await task_of(sessions, task)
    assert (reopened.status, reopened.reopen_count) == ("reopened", 1)
    assert reopened.deadline == POLICY.deadline(finding.severity, LATER)  # type: ignore[arg-type]
    async with sessions() as s:
        referral = (await s.scalars(select(DisciplineReferral))).one()
        assert (referral.reason, referral.task_id, referral.referred_at) == ("failed_follow_up", task.id, LATER)
        assert (await events(s))[-2:] == ["rectification_rejected", "discipline_referral_made"]
        assert not failed.passed
    # worked again, by the same township; the inspector who rejected it may check it again
    await started_and_submitted(sessions, task)
    async with unit_of_work(sessions) as s:
        await check(s, task, passed=True)
    assert (await task_of(sessions, task)).status == "verified"


async def found_again(sessions: async_sessionmaker[AsyncSession], when: Any = LATER) -> None:
    async with unit_of_work(sessions) as s:
        await findings.record_finding(s, facts(grade="C"), policy=POLICY, now=when)


@pytest.mark.parametrize("verified", [False, True])
async def test_the_problem_found_again_after_it_was_reported_done_reopens_the_task(
    sessions: Any, verified: bool
) -> None:
    finding, task = await open_task(sessions)
    await started_and_submitted(sessions, task)
    if verified:
        async with unit_of_work(sessions) as s:
            await check(s, task, passed=True)
    again = LATER + timedelta(days=1)
    await found_again(sessions, again)
    reopened = await task_of(sessions, task)
    assert (reopened.status, reopened.reopen_count, reopened.verified_by) == ("reopened", 1, None)
    assert reopened.deadline == POLICY.deadline(finding.severity, again)  # type: ignore[arg-type]
    async with sessions() as s:
        assert (await events(s))[-2:] == ["finding_recurred", "rectification_reopened"]
        assert await count(s, DisciplineReferral) == 0  # serious: reopened, referred only if it falls overdue
    await refused(sessions, RuleViolation, lambda s: rectification.close_task(s, task.id, actor=DISTRICT, now=again))
    await started_and_submitted(sessions, task)  # the owner works it again
    assert (await task_of(sessions, task)).status == "submitted"


async def test_the_problem_found_again_while_still_being_worked_leaves_the_task_as_it_is(sessions: Any) -> None:
    _, task = await open_task(sessions)
    await found_again(sessions)
    async with unit_of_work(sessions) as s:
        await rectification.start_task(s, task.id, actor=TOWNSHIP_OFFICER, now=NOW)
    await found_again(sessions)
    unchanged = await task_of(sessions, task)
    assert (unchanged.status, unchanged.reopen_count, unchanged.deadline) == ("in_progress", 0, task.deadline)
    async with sessions() as s:
        assert "rectification_reopened" not in await events(s)


async def test_a_repeat_in_the_transaction_that_opened_the_finding_reopens_nothing(sessions: Any) -> None:
    async with unit_of_work(sessions) as s:
        for _ in range(2):
            await findings.record_finding(s, facts(grade="C"), policy=POLICY, now=NOW)
    async with sessions() as s:
        task = (await s.scalars(select(RectificationTask))).one()
        assert task.status == "open"
        assert await events(s) == ["finding_recorded", "rectification_opened", "finding_recurred"]


async def test_a_check_inside_a_campaign_must_be_within_its_scope(sessions: Any) -> None:
    _, task = await open_task(sessions)
    await started_and_submitted(sessions, task)
    plan = campaigns.CampaignPlan(
        name="回头看 冯屯镇",
        kind=CampaignKind.FOLLOW_UP_CHECK,
        scope_level=ScopeLevel.TOWNSHIP,
        scope_code="371523105",
        round=1,
        starts_on=date(2020, 5, 1),
        ends_on=date(2020, 5, 31),
        teams=("team 3",),
    )
    async with unit_of_work(sessions) as s:
        elsewhere = await campaigns.open_campaign(s, plan, actor=DISTRICT, now=NOW)
    error = await refused(sessions, RuleViolation, lambda s: check(s, task, passed=True, campaign=elsewhere.id))
    assert "scope" in error.detail


async def test_reschedule_records_who_when_why_and_rearms_the_reminder(sessions: Any) -> None:
    _, task = await open_task(sessions)
    async with unit_of_work(sessions) as s:
        (await s.get(RectificationTask, task.id)).reminded_at = NOW  # type: ignore[union-attr]
    new_deadline = task.deadline + timedelta(days=10)
    async with unit_of_work(sessions) as s:
        await rectification.reschedule_task(
            s, task.id, deadline=new_deadline, reason="materials delayed by the epidemic", actor=DISTRICT, now=NOW
        )
    moved = await task_of(sessions, task)
    assert (moved.deadline, moved.reminded_at) == (new_deadline, None)
    async with sessions() as s:
        change = (await s.scalars(select(DeadlineChange))).one()
        assert (change.previous_deadline, change.changed_by) == (task.deadline, "district-officer-1")
        assert (await events(s))[-1] == "rectification_rescheduled"


async def test_reschedule_refuses_a_deadline_before_opening_or_a_submitted_task(sessions: Any) -> None:
    _, task = await open_task(sessions)
    await refused(
        sessions,
        InvalidInput,
        lambda s: rectification.reschedule_task(
            s, task.id, deadline=task.opened_at - timedelta(days=1), reason="typo", actor=DISTRICT, now=NOW
        ),
    )
    await started_and_submitted(sessions, task)
    await refused(
        sessions,
        RuleViolation,
        lambda s: rectification.reschedule_task(
            s, task.id, deadline=task.deadline + timedelta(days=1), reason="more time", actor=DISTRICT, now=NOW
        ),
    )

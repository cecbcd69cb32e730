"""Rectification use cases (整改): open, start, submit with evidence, follow-up check (回头看), close, reschedule.

Each takes the caller's session and `now`, checks the lifecycle and who may act (`rules/lifecycle.py`), records
the change and its event; the caller's unit of work commits once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, TypedDict
from uuid import UUID

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.audit.domain import campaigns
from services.audit.domain.notifications import notify_about
from services.audit.domain.referrals import refer_to_discipline_commission
from services.audit.events import publish
from services.audit.models import (
    DeadlineChange,
    Finding,
    FindingStatus,
    FollowUpCheck,
    RectificationSubmission,
    RectificationTask,
)
from services.audit.rules.findings import DeadlinePolicy, EvidenceRef
from services.audit.rules.lifecycle import (
    ACTIVE,
    TaskAction,
    TaskStatus,
    check_new_deadline,
    ensure_can_work,
    ensure_evidence,
    ensure_independent_verifier,
    ensure_reschedule_left,
    ensure_round_left,
    is_contradicted_by_recurrence,
    next_status,
)
from services.audit.rules.notifications import NotificationKind
from services.audit.rules.referrals import ReferralReason
from shared.auth import Principal
from shared.contracts.audit import (
    RectificationClosed,
    RectificationOpened,
    RectificationRejected,
    RectificationReopened,
    RectificationRescheduled,
    RectificationStarted,
    RectificationSubmitted,
    RectificationVerified,
    Severity,
    SubjectKind,
)
from shared.entities import new_entity
from shared.errors import NotFound


def open_rectification(session: AsyncSession, finding: Finding, *, owner: str, deadline: datetime) -> RectificationTask:
    """Open the rectification task (整改任务) of a finding."""
    task = new_entity(
        RectificationTask, finding_id=finding.id, owner=owner, deadline=deadline, opened_at=finding.opened_at
    )
    session.add(task)
    publish(
        session,
        RectificationOpened(
            finding_id=finding.id,
            subject_kind=SubjectKind(finding.subject_kind),
            subject_id=finding.subject_id,
            task_id=task.id,
            owner=owner,
            deadline=deadline,
        ),
    )
    return task


async def task_in_reach(
    session: AsyncSession, task_id: UUID, actor: Principal, *, for_update: bool = False
) -> tuple[RectificationTask, Finding]:
    """The task and its finding; NotFound, or Forbidden outside the actor's area. Locked for a change: the finding
    first, then its task, the order in which a repeat of the problem takes them (`findings`), so that the two
    never each hold one row while waiting for the other (a deadlock, which PostgreSQL breaks after a second)."""
    task = await session.get(RectificationTask, task_id)
    if task is None:
        raise NotFound("No rectification task has this id.")
    finding = await session.get(Finding, task.finding_id, with_for_update=for_update, populate_existing=for_update)
    if finding is None:
        raise NotFound("No rectification task has this id.")
    if for_update:
        task = await session.get(RectificationTask, task_id, with_for_update=True, populate_existing=True)
        assert task is not None  # a task is never deleted
    actor.ensure_reach(finding.area_code)
    return task, finding


class _About(TypedDict):
    finding_id: UUID
    subject_kind: SubjectKind
    subject_id: str


def _about(finding: Finding) -> _About:
    """The fields every task event shares: which finding, about which subject."""
    return _About(finding_id=finding.id, subject_kind=SubjectKind(finding.subject_kind), subject_id=finding.subject_id)


async def start_task(session: AsyncSession, task_id: UUID, *, actor: Principal, now: datetime) -> RectificationTask:
    """The owning unit starts work on the task."""
    task, finding = await task_in_reach(session, task_id, actor, for_update=True)
    ensure_can_work(task.owner, actor)
    task.status = next_status(task.status, TaskAction.START)
    task.started_by, task.started_at = actor.subject, now
    if actor.subject not in task.starters:
        task.starters = [*task.starters, actor.subject]  # a new list: SQLAlchemy sees no change made in place
    publish(session, RectificationStarted(**_about(finding), task_id=task.id, started_by=actor.subject))
    return task


async def submit_task(
    session: AsyncSession,
    task_id: UUID,
    *,
    summary: str,
    evidence: Sequence[EvidenceRef],
    actor: Principal,
    now: datetime,
) -> RectificationSubmission:
    """The owning unit submits the rectification as done, with evidence, for a follow-up check."""
    task, finding = await task_in_reach(session, task_id, actor, for_update=True)
    ensure_can_work(task.owner, actor)
    ensure_evidence(evidence)
    submitted = next_status(task.status, TaskAction.SUBMIT)
    ensure_round_left(await _count(session, col(RectificationSubmission.task_id) == task.id))
    task.status = submitted
    # A submission that waited for the overdue check's lock is recorded after it: the task was referred as overdue,
    # and its record must not show it submitted in time (the request's clock was read before the wait).
    now = max(now, task.overdue_at) if task.overdue_at else now
    task.submitted_by, task.submitted_at = actor.subject, now
    submission = RectificationSubmission(
        task_id=task.id,
        submitted_by=actor.subject,
        submitted_at=now,
        summary=summary,
        evidence=[e.as_json() for e in evidence],
    )
    session.add(submission)
    publish(
        session,
        RectificationSubmitted(
            **_about(finding),
            task_id=task.id,
            submission_id=submission.id,
            submitted_by=actor.subject,
            evidence_count=len(evidence),
        ),
    )
    return submission


async def _count(session: AsyncSession, where: ColumnElement[bool]) -> int:
    """How many rows of the table `where` is about match it (a task's submissions, its deadline changes)."""
    return int(await session.scalar(select(func.count()).where(where)) or 0)


async def _worked_by(session: AsyncSession, task: RectificationTask) -> set[str]:
    submitters = await session.scalars(
        select(col(RectificationSubmission.submitted_by)).where(col(RectificationSubmission.task_id) == task.id)
    )
    return {who for who in (*task.starters, task.started_by, task.submitted_by, *submitters.all()) if who}


async def _latest_submission(session: AsyncSession, task: RectificationTask) -> RectificationSubmission:
    stmt = (
        select(RectificationSubmission)
        .where(col(RectificationSubmission.task_id) == task.id)
        .order_by(col(RectificationSubmission.submitted_at).desc())
        .limit(1)
    )
    submission = (await session.scalars(stmt)).first()
    if submission is None:
        raise NotFound("This task has no submission to check.")
    return submission


async def record_follow_up_check(
    session: AsyncSession,
    task_id: UUID,
    *,
    passed: bool,
    notes: str,
    campaign_id: UUID | None,
    actor: Principal,
    now: datetime,
    policy: DeadlinePolicy,
) -> FollowUpCheck:
    """A follow-up check (回头看) by someone independent: verified, or reopened with a new deadline and referred."""
    task, finding = await task_in_reach(session, task_id, actor, for_update=True)
    ensure_independent_verifier(task.owner, await _worked_by(session, task), actor)
    task.status = next_status(task.status, TaskAction.VERIFY if passed else TaskAction.REJECT)
    if campaign_id is not None:
        await campaigns.ensure_covers(
            session, campaign_id, area_code=finding.area_code, subject_id=finding.subject_id, now=now
        )
    check = FollowUpCheck(
        task_id=task.id,
        submission_id=(await _latest_submission(session, task)).id,
        campaign_id=campaign_id,
        checked_by=actor.subject,
        checked_at=now,
        passed=passed,
        notes=notes,
    )
    session.add(check)
    await session.flush()  # the check references the submission; referrals reference the task
    if passed:
        task.verified_by, task.verified_at = actor.subject, now
        publish(
            session,
            RectificationVerified(**_about(finding), task_id=task.id, check_id=check.id, verified_by=actor.subject),
        )
    else:
        await _reopen(session, task, finding, check, policy=policy, now=now)
    return check


async def _reopen(
    session: AsyncSession,
    task: RectificationTask,
    finding: Finding,
    check: FollowUpCheck,
    *,
    policy: DeadlinePolicy,
    now: datetime,
) -> None:
    task.reopen_count += 1
    set_deadline(task, policy.deadline(Severity(finding.severity), now))
    publish(
        session,
        RectificationRejected(
            **_about(finding), task_id=task.id, check_id=check.id, checked_by=check.checked_by, deadline=task.deadline
        ),
    )
    await notify_about(session, finding, NotificationKind.REOPENED, now=now, task=task)
    await refer_to_discipline_commission(session, finding, reason=ReferralReason.FAILED_FOLLOW_UP, now=now, task=task)


# Who moves a deadline that a rule moved (a problem found worse), in the deadline's history and its event.
AUDIT_RULES = "audit-rules"


async def follow_recurrence(
    session: AsyncSession, finding: Finding, *, escalated: bool, policy: DeadlinePolicy, now: datetime
) -> RectificationTask | None:
    """What a repeat of the problem does to its task: reported rectified (submitted or verified), the report is
    contradicted and the task reopens; still being worked and found worse, the task gets its new severity's
    shorter term when that ends sooner. The task changed, or None."""
    task = await _task_of(session, finding)
    if is_contradicted_by_recurrence(task.status):
        await _reopen_on_recurrence(session, task, finding, policy=policy, now=now)
        return task
    shorter = policy.deadline(Severity(finding.severity), now)
    if escalated and task.status in ACTIVE and shorter < task.deadline:
        reason = f"found worse: now {finding.severity}, whose term is shorter"
        _move_deadline(session, task, finding, deadline=shorter, reason=reason, actor=AUDIT_RULES, now=now)
        return task
    return None


async def _task_of(session: AsyncSession, finding: Finding) -> RectificationTask:
    """The finding's task, locked; one opened in this transaction is still only in the session (a consumer's
    batch writes its rows at commit)."""
    for pending in session.new:
        if isinstance(pending, RectificationTask) and pending.finding_id == finding.id:
            return pending
    stmt = select(RectificationTask).where(col(RectificationTask.finding_id) == finding.id).with_for_update()
    with session.no_autoflush:
        return (await session.scalars(stmt)).one()


async def _reopen_on_recurrence(
    session: AsyncSession, task: RectificationTask, finding: Finding, *, policy: DeadlinePolicy, now: datetime
) -> None:
    previous: Literal["submitted", "verified"] = "verified" if task.status == TaskStatus.VERIFIED else "submitted"
    task.status, task.verified_by, task.verified_at = TaskStatus.REOPENED, None, None
    task.reopen_count += 1
    set_deadline(task, policy.deadline(Severity(finding.severity), now))
    publish(
        session,
        RectificationReopened(
            **_about(finding),
            task_id=task.id,
            previous_status=previous,
            occurrences=finding.occurrences,
            deadline=task.deadline,
        ),
    )
    await notify_about(session, finding, NotificationKind.REOPENED, now=now, task=task)


def set_deadline(task: RectificationTask, deadline: datetime) -> None:
    """A new deadline re-arms the scheduled checks: a reminder before it, and overdue (with a referral) after."""
    task.deadline, task.reminded_at, task.overdue_at = deadline, None, None


async def close_task(session: AsyncSession, task_id: UUID, *, actor: Principal, now: datetime) -> RectificationTask:
    """Close a verified task; its finding closes with it (a later repeat opens a new finding)."""
    task, finding = await task_in_reach(session, task_id, actor, for_update=True)
    task.status = next_status(task.status, TaskAction.CLOSE)
    task.closed_by, task.closed_at = actor.subject, now
    finding.status, finding.closed_at = FindingStatus.CLOSED, now
    publish(session, RectificationClosed(**_about(finding), task_id=task.id, closed_by=actor.subject))
    return task


async def reschedule_task(
    session: AsyncSession, task_id: UUID, *, deadline: datetime, reason: str, actor: Principal, now: datetime
) -> DeadlineChange:
    """Move a task's deadline (调整整改期限: an extension, or a shorter term set by supervision), with a reason."""
    task, finding = await task_in_reach(session, task_id, actor, for_update=True)
    next_status(task.status, TaskAction.RESCHEDULE)
    check_new_deadline(deadline, opened_at=task.opened_at, current=task.deadline)
    ensure_reschedule_left(await _count(session, col(DeadlineChange.task_id) == task.id))
    return _move_deadline(session, task, finding, deadline=deadline, reason=reason, actor=actor.subject, now=now)


def _move_deadline(
    session: AsyncSession,
    task: RectificationTask,
    finding: Finding,
    *,
    deadline: datetime,
    reason: str,
    actor: str,
    now: datetime,
) -> DeadlineChange:
    change = DeadlineChange(
        task_id=task.id,
        previous_deadline=task.deadline,
        deadline=deadline,
        changed_by=actor,
        changed_at=now,
        reason=reason,
    )
    session.add(change)
    set_deadline(task, deadline)
    publish(
        session,
        RectificationRescheduled(
            **_about(finding),
            task_id=task.id,
            previous_deadline=change.previous_deadline,
            deadline=deadline,
            changed_by=actor,
        ),
    )
    return change

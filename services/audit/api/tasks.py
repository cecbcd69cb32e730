"""Rectification tasks (整改): owners work them, independent inspectors check them (回头看), the district
office closes or reschedules them."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from services.audit.api.deps import DistrictOffice, Inspector, Limit, Policy, Reader, TaskWorker
from services.audit.domain import overviews, rectification
from services.audit.rules.lifecycle import TaskStatus
from services.audit.schemas.tasks import (
    DeadlineChangeCreate,
    DeadlineChangeRead,
    FollowUpCheckCreate,
    FollowUpCheckRead,
    RectificationTaskRead,
    SubmissionCreate,
    SubmissionRead,
)
from shared.api.clock import Now
from shared.areas import AreaCode
from shared.http import Transaction
from shared.schemas import QueryText

router = APIRouter(prefix="/rectification-tasks", tags=["rectification"])


@router.get("")
async def list_tasks(
    session: Transaction,
    actor: Reader,
    finding_id: UUID | None = None,
    owner: QueryText | None = None,
    township: AreaCode | None = None,
    status: TaskStatus | None = None,
    limit: Limit = 100,
) -> list[RectificationTaskRead]:
    """Rectification tasks (整改任务) within the caller's area, soonest deadline first."""
    flt = overviews.TaskFilter(finding_id=finding_id, owner=owner, township=township, status=status)
    rows = await overviews.list_tasks(session, actor, flt, limit=limit)
    return [RectificationTaskRead.model_validate(task) for task, _ in rows]


@router.get("/{task_id}")
async def get_task(task_id: UUID, session: Transaction, actor: Reader) -> RectificationTaskRead:
    task, _ = await rectification.task_in_reach(session, task_id, actor)
    return RectificationTaskRead.model_validate(task)


@router.post("/{task_id}/start")
async def start_task(task_id: UUID, session: Transaction, actor: TaskWorker, now: Now) -> RectificationTaskRead:
    """The owning unit starts work."""
    task = await rectification.start_task(session, task_id, actor=actor, now=now)
    return RectificationTaskRead.model_validate(task)


@router.post("/{task_id}/submissions", status_code=status.HTTP_201_CREATED)
async def submit_task(
    task_id: UUID, body: SubmissionCreate, session: Transaction, actor: TaskWorker, now: Now
) -> SubmissionRead:
    """The owning unit submits the rectification with evidence."""
    submission = await rectification.submit_task(
        session, task_id, summary=body.summary, evidence=[e.ref() for e in body.evidence], actor=actor, now=now
    )
    return SubmissionRead.model_validate(submission)


@router.post("/{task_id}/follow-up-checks", status_code=status.HTTP_201_CREATED)
async def check_task(
    task_id: UUID, body: FollowUpCheckCreate, session: Transaction, actor: Inspector, now: Now, policy: Policy
) -> FollowUpCheckRead:
    """A follow-up check (回头看) by someone who did not work the task: verified, or reopened and referred."""
    check = await rectification.record_follow_up_check(
        session,
        task_id,
        passed=body.passed,
        notes=body.notes,
        campaign_id=body.campaign_id,
        actor=actor,
        now=now,
        policy=policy,
    )
    return FollowUpCheckRead.model_validate(check)


@router.post("/{task_id}/close")
async def close_task(task_id: UUID, session: Transaction, actor: Inspector, now: Now) -> RectificationTaskRead:
    """Close a verified task (and its finding)."""
    task = await rectification.close_task(session, task_id, actor=actor, now=now)
    return RectificationTaskRead.model_validate(task)


@router.post("/{task_id}/deadline-changes", status_code=status.HTTP_201_CREATED)
async def reschedule_task(
    task_id: UUID, body: DeadlineChangeCreate, session: Transaction, actor: DistrictOffice, now: Now
) -> DeadlineChangeRead:
    """Move the deadline (调整整改期限) with a reason: an extension, or a shorter term set by supervision."""
    change = await rectification.reschedule_task(
        session, task_id, deadline=body.deadline, reason=body.reason, actor=actor, now=now
    )
    return DeadlineChangeRead.model_validate(change)

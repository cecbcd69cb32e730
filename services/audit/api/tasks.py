"""Rectification tasks (整改): owners work them, independent inspectors check them (回头看), the district
office closes or reschedules them."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from services.audit.api.deps import DistrictOffice, FindingFacets, Inspector, Policy, Reader, Span, TaskWorker
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
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, datetime_key, uuid_key
from shared.areas import AreaCode
from shared.http import Reading, Transaction
from shared.openapi import AREA_RULE_KEY
from shared.schemas import QueryText

router = APIRouter(prefix="/rectification-tasks", tags=["rectification"])
# Working a task is the owner's: the generic area rule (anything in the area) would say too much.
OWNER_RULE = {
    AREA_RULE_KEY: "**Area rule:** a `township_office` works only the tasks its township owns (owner "
    "`township_office:<the token's area>`); any other task is refused with 403."
}


@router.get("")
async def list_tasks(
    session: Reading,
    actor: Reader,
    paging: Paging,
    facets: FindingFacets,
    opened: Span,
    finding_id: UUID | None = None,
    owner: QueryText | None = None,
    township: AreaCode | None = None,
    status: TaskStatus | None = None,
) -> Page[RectificationTaskRead]:
    """List rectification tasks (整改任务) within the caller's area, newest first

    Optionally of one finding, one owner (`township_office:371523101`), one township or one status, opened from
    `from` to `to` (district calendar), and of findings in an area (`area_code`, a prefix), of a category or
    severity, of the person answering for them (`responsible_person_id`) or recorded by a campaign; a township or
    area outside the caller's area is a 403, a bad value a 422. Pages run in (`opened_at`, `id`) descending order,
    which a moved deadline or a new status does not change. For the tasks past their deadline, see
    `/v1/views/overdue-tasks`.
    """
    flt = overviews.TaskFilter(
        finding_id=finding_id, owner=owner, township=township, status=status, facets=facets, opened=opened
    )
    rows = await overviews.list_tasks(
        session, actor, flt, after=paging.after(datetime_key, uuid_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda t: [t.opened_at.isoformat(), str(t.id)])
    return Page(items=[RectificationTaskRead.model_validate(t) for t in items], next_cursor=next_cursor)


@router.get("/{task_id}")
async def get_task(task_id: UUID, session: Reading, actor: Reader) -> RectificationTaskRead:
    """Read one rectification task (整改任务): its owner, deadline, status and who moved it when"""
    task, _ = await rectification.task_in_reach(session, task_id, actor)
    return RectificationTaskRead.model_validate(task)


@router.post("/{task_id}/start", openapi_extra=OWNER_RULE)
async def start_task(task_id: UUID, session: Transaction, actor: TaskWorker, now: Now) -> RectificationTaskRead:
    """Start work on a rectification task (开始整改)

    The owning unit takes up an open or reopened task (`in_progress`) and `RectificationStarted` is published.
    Whoever starts a task, in any round, may not later verify it. Another state is a 409.
    """
    task = await rectification.start_task(session, task_id, actor=actor, now=now)
    return RectificationTaskRead.model_validate(task)


@router.post(
    "/{task_id}/submissions", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE, openapi_extra=OWNER_RULE
)
async def submit_task(
    task_id: UUID, body: SubmissionCreate, session: Transaction, actor: TaskWorker, now: Now, idem: Idempotency
) -> SubmissionRead:
    """Submit a rectification as done (提交整改), with evidence, for a follow-up check (回头看)

    Only a task in progress, and only with at least one evidence reference (else 409): the task becomes
    `submitted` and `RectificationSubmitted` is published. A task already marked overdue stays on record as
    submitted late.
    """
    if (earlier := await idem.replay(body, SubmissionRead)) is not None:
        return earlier
    submission = await rectification.submit_task(
        session, task_id, summary=body.summary, evidence=[e.ref() for e in body.evidence], actor=actor, now=now
    )
    return idem.remember(SubmissionRead.model_validate(submission))


@router.post("/{task_id}/follow-up-checks", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def check_task(
    task_id: UUID,
    body: FollowUpCheckCreate,
    session: Transaction,
    actor: Inspector,
    now: Now,
    policy: Policy,
    idem: Idempotency,
) -> FollowUpCheckRead:
    """Record a follow-up check (回头看) of a submitted rectification: verified, or reopened and referred

    By someone independent: not anyone who started or submitted the task in any round, nor a member of the owning
    unit (403). Passed, the task is `verified` (`RectificationVerified`); failed, it is reopened with a new
    deadline (`RectificationRejected`) and referred to the discipline commission (`failed_follow_up`). A named
    campaign must be running and cover the task's finding.
    """
    if (earlier := await idem.replay(body, FollowUpCheckRead)) is not None:
        return earlier
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
    return idem.remember(FollowUpCheckRead.model_validate(check))


@router.post("/{task_id}/close")
async def close_task(task_id: UUID, session: Transaction, actor: Inspector, now: Now) -> RectificationTaskRead:
    """Close a verified rectification task (整改销号), and its finding with it

    Only a verified task (so never one without evidence and a passed check; else 409). `RectificationClosed` is
    published; households and projects then drop the open problem. A later repeat of the problem opens a new
    finding.
    """
    task = await rectification.close_task(session, task_id, actor=actor, now=now)
    return RectificationTaskRead.model_validate(task)


@router.post("/{task_id}/deadline-changes", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def reschedule_task(
    task_id: UUID,
    body: DeadlineChangeCreate,
    session: Transaction,
    actor: DistrictOffice,
    now: Now,
    idem: Idempotency,
) -> DeadlineChangeRead:
    """Move a task's deadline (调整整改期限) with a reason: an extension, or a shorter term set by supervision

    Only while it is the owner's turn (open, in progress, reopened; else 409). The new deadline falls after the
    task opened and at most a year from it (else 422); it may already be past. The reminder and the overdue check
    are re-armed, and `RectificationRescheduled` is published.
    """
    if (earlier := await idem.replay(body, DeadlineChangeRead)) is not None:
        return earlier
    change = await rectification.reschedule_task(
        session, task_id, deadline=body.deadline, reason=body.reason, actor=actor, now=now
    )
    return idem.remember(DeadlineChangeRead.model_validate(change))

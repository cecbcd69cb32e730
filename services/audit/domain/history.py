"""A subject's full problem history: every finding on a household or project, with each step taken on it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.audit.domain.overviews import in_reach
from services.audit.models import (
    AccountabilityAction,
    DeadlineChange,
    DisciplineReferral,
    Finding,
    FollowUpCheck,
    RectificationSubmission,
    RectificationTask,
)
from shared.api.pagination import Key
from shared.auth import Principal
from shared.db import keyset
from shared.errors import Forbidden


@dataclass
class FindingHistory:
    """Everything audit knows about one finding: its task and each step taken on it."""

    finding: Finding
    task: RectificationTask | None
    submissions: list[RectificationSubmission]
    checks: list[FollowUpCheck]
    deadline_changes: list[DeadlineChange]
    referrals: list[DisciplineReferral]
    actions: list[AccountabilityAction]


async def _rows(session: AsyncSession, model: Any, key: Any, value: UUID | None, order: Any) -> list[Any]:
    if value is None:
        return []
    return list((await session.scalars(select(model).where(key == value).order_by(order))).all())


async def _history_of(session: AsyncSession, finding: Finding) -> FindingHistory:
    task_stmt = select(RectificationTask).where(col(RectificationTask.finding_id) == finding.id)
    task = (await session.scalars(task_stmt)).first()
    task_id = task.id if task else None
    submission, check, change = RectificationSubmission, FollowUpCheck, DeadlineChange
    referral, action = DisciplineReferral, AccountabilityAction
    return FindingHistory(
        finding=finding,
        task=task,
        submissions=await _rows(session, submission, col(submission.task_id), task_id, col(submission.submitted_at)),
        checks=await _rows(session, check, col(check.task_id), task_id, col(check.checked_at)),
        deadline_changes=await _rows(session, change, col(change.task_id), task_id, col(change.changed_at)),
        referrals=await _rows(session, referral, col(referral.finding_id), finding.id, col(referral.referred_at)),
        actions=await _rows(session, action, col(action.finding_id), finding.id, col(action.decided_on)),
    )


async def subject_history(
    session: AsyncSession, actor: Principal, *, subject_kind: str, subject_id: str, after: Key | None, limit: int
) -> list[FindingHistory]:
    """A subject's (household's, project's, payment's, unit's) full problem history within the actor's area, oldest
    finding first: (opened_at, id) after the cursor's key. Forbidden when the subject has findings, all outside it
    (as for one finding)."""
    of_subject = select(Finding).where(col(Finding.subject_kind) == subject_kind, col(Finding.subject_id) == subject_id)
    stmt = keyset(in_reach(of_subject, actor), [col(Finding.opened_at), col(Finding.id)], after, limit=limit)
    findings = (await session.scalars(stmt)).all()
    if not findings and after is None and (await session.scalars(of_subject.limit(1))).first() is not None:
        raise Forbidden("This subject's findings are outside your area.")
    return [await _history_of(session, finding) for finding in findings]

"""Read-only views: findings and tasks within the reader's area, open-task summaries, overdue tasks,
rectification rates and time to close, referrals and accountability by month, a subject's full history."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.audit.lifecycle import ACTIVE, TaskStatus, is_overdue
from services.audit.models import (
    AccountabilityAction,
    DeadlineChange,
    DisciplineReferral,
    Finding,
    FollowUpCheck,
    RectificationSubmission,
    RectificationTask,
)
from shared.areas import township_of
from shared.auth import Principal
from shared.errors import Forbidden, InvalidInput
from shared.timeutil import DISTRICT_TZ

GroupBy = Literal["township", "owner", "unit"]
SECONDS_PER_DAY = 86400
RATE_PLACES = Decimal("0.0001")


def in_reach(stmt: Select[Any], actor: Principal) -> Select[Any]:
    """Limit a query joined to Finding to the actor's area (township officers see their township only)."""
    if actor.is_area_scoped:
        return stmt.where(col(Finding.area_code).startswith(actor.area or "\0"))
    return stmt


def district_span(start: date, end: date) -> tuple[datetime, datetime]:
    """From `start` 00:00 to the end of `end` in the district's calendar, as aware datetimes."""
    if end < start:
        raise InvalidInput("The period ends before it starts.")
    return datetime.combine(start, time(), DISTRICT_TZ), datetime.combine(end + timedelta(days=1), time(), DISTRICT_TZ)


@dataclass(frozen=True)
class TaskFilter:
    finding_id: UUID | None = None
    owner: str | None = None
    township: str | None = None
    status: TaskStatus | None = None


async def list_tasks(
    session: AsyncSession, actor: Principal, flt: TaskFilter, *, limit: int
) -> list[tuple[RectificationTask, Finding]]:
    """Tasks within the actor's area, soonest deadline first."""
    if flt.township:
        actor.ensure_reach(flt.township)
    stmt = in_reach(
        select(RectificationTask, Finding).join(Finding, col(Finding.id) == col(RectificationTask.finding_id)), actor
    )
    if flt.finding_id:
        stmt = stmt.where(col(RectificationTask.finding_id) == flt.finding_id)
    if flt.owner:
        stmt = stmt.where(col(RectificationTask.owner) == flt.owner)
    if flt.township:
        stmt = stmt.where(col(Finding.area_code).startswith(flt.township))
    if flt.status:
        stmt = stmt.where(col(RectificationTask.status) == flt.status)
    stmt = stmt.order_by(col(RectificationTask.deadline)).limit(limit)
    return [(t, f) for t, f in (await session.execute(stmt)).tuples().all()]


@dataclass
class OpenTaskGroup:
    key: str
    total: int = 0
    overdue: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


async def open_task_summary(
    session: AsyncSession, actor: Principal, *, group_by: GroupBy, now: datetime
) -> list[OpenTaskGroup]:
    """Open (not yet verified) tasks counted by township, owner or responsible unit, with how many are overdue."""
    stmt = in_reach(
        select(
            col(RectificationTask.status),
            col(RectificationTask.owner),
            col(RectificationTask.deadline),
            col(Finding.area_code),
            col(Finding.responsible_unit),
        )
        .join(Finding, col(Finding.id) == col(RectificationTask.finding_id))
        .where(col(RectificationTask.status).in_([*ACTIVE, TaskStatus.SUBMITTED])),
        actor,
    )
    groups: dict[str, OpenTaskGroup] = {}
    for status, owner, deadline, area_code, unit in (await session.execute(stmt)).tuples().all():
        key = {"township": township_of(area_code), "owner": owner, "unit": unit or "-"}[group_by]
        group = groups.setdefault(key, OpenTaskGroup(key))
        group.total += 1
        group.by_status[status] = group.by_status.get(status, 0) + 1
        group.overdue += int(is_overdue(status, deadline, now))
    return sorted(groups.values(), key=lambda g: g.key)


async def overdue_tasks(
    session: AsyncSession, actor: Principal, *, now: datetime, limit: int
) -> list[tuple[RectificationTask, Finding]]:
    """Tasks still with their owner past the deadline, longest overdue first."""
    stmt = (
        in_reach(
            select(RectificationTask, Finding)
            .join(Finding, col(Finding.id) == col(RectificationTask.finding_id))
            .where(col(RectificationTask.status).in_(ACTIVE), col(RectificationTask.deadline) < now),
            actor,
        )
        .order_by(col(RectificationTask.deadline))
        .limit(limit)
    )
    return [(t, f) for t, f in (await session.execute(stmt)).tuples().all()]


@dataclass(frozen=True)
class RectificationRate:
    township: str
    category: str
    findings: int
    closed: int
    average_days_to_close: float | None

    @property
    def rate(self) -> Decimal:
        """The rectification rate (整改率): closed findings over findings, exact to four places."""
        return (Decimal(self.closed) / Decimal(self.findings)).quantize(RATE_PLACES)


async def rectification_rates(
    session: AsyncSession, actor: Principal, *, start: date, end: date
) -> list[RectificationRate]:
    """Of the period's findings: how many are closed and how long closing took, by township and category."""
    since, until = district_span(start, end)
    stmt = in_reach(
        select(col(Finding.area_code), col(Finding.category), col(Finding.opened_at), col(Finding.closed_at)).where(
            col(Finding.opened_at) >= since, col(Finding.opened_at) < until
        ),
        actor,
    )
    opened: Counter[tuple[str, str]] = Counter()
    durations: defaultdict[tuple[str, str], list[float]] = defaultdict(list)
    for area_code, category, opened_at, closed_at in (await session.execute(stmt)).tuples().all():
        key = (township_of(area_code), category)
        opened[key] += 1
        if closed_at is not None:
            durations[key].append((closed_at - opened_at).total_seconds() / SECONDS_PER_DAY)
    return [
        RectificationRate(
            township=key[0],
            category=key[1],
            findings=count,
            closed=len(durations[key]),
            average_days_to_close=round(sum(durations[key]) / len(durations[key]), 2) if durations[key] else None,
        )
        for key, count in sorted(opened.items())
    ]


@dataclass
class PeriodActivity:
    month: str
    referrals_by_reason: dict[str, int] = field(default_factory=dict)
    actions_by_kind: dict[str, int] = field(default_factory=dict)


async def referrals_and_accountability(session: AsyncSession, *, start: date, end: date) -> list[PeriodActivity]:
    """Referrals by reason and accountability decisions by kind, month by month (district calendar)."""
    since, until = district_span(start, end)
    months: dict[str, PeriodActivity] = {}
    referrals = select(col(DisciplineReferral.referred_at), col(DisciplineReferral.reason)).where(
        col(DisciplineReferral.referred_at) >= since, col(DisciplineReferral.referred_at) < until
    )
    for referred_at, reason in (await session.execute(referrals)).tuples().all():
        month = months.setdefault(referred_at.astimezone(DISTRICT_TZ).strftime("%Y-%m"), PeriodActivity(""))
        month.referrals_by_reason[reason] = month.referrals_by_reason.get(reason, 0) + 1
    actions = select(col(AccountabilityAction.decided_on), col(AccountabilityAction.kind)).where(
        col(AccountabilityAction.decided_on) >= start, col(AccountabilityAction.decided_on) <= end
    )
    for decided_on, kind in (await session.execute(actions)).tuples().all():
        month = months.setdefault(decided_on.strftime("%Y-%m"), PeriodActivity(""))
        month.actions_by_kind[kind] = month.actions_by_kind.get(kind, 0) + 1
    for key, activity in months.items():
        activity.month = key
    return [months[key] for key in sorted(months)]


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
    session: AsyncSession, actor: Principal, *, subject_kind: str, subject_id: str
) -> list[FindingHistory]:
    """A household's or project's full problem history, oldest finding first, within the actor's area; Forbidden
    when the subject has findings, all outside it (as for one finding)."""
    stmt = select(Finding).where(col(Finding.subject_kind) == subject_kind, col(Finding.subject_id) == subject_id)
    findings = (await session.scalars(stmt.order_by(col(Finding.opened_at)))).all()
    reached = [finding for finding in findings if actor.can_reach(finding.area_code)]
    if findings and not reached:
        raise Forbidden("This subject's findings are outside your area.")
    return [await _history_of(session, finding) for finding in reached]

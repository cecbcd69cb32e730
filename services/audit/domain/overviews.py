"""Read-side queries: findings and tasks within the reader's area, open-task summaries, overdue tasks,
rectification rates, referrals and accountability by month."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.audit.domain.filters import Days, Facets, task_overdue
from services.audit.models import AccountabilityAction, DisciplineReferral, Finding, FindingStatus, RectificationTask
from services.audit.rules.lifecycle import ACTIVE, TaskStatus, is_overdue
from services.audit.rules.periods import district_span
from services.audit.rules.rates import RectificationRate, rates_of
from shared.api.pagination import Key, sorted_after
from shared.areas import township_of
from shared.auth import Principal
from shared.db import keyset
from shared.timeutil import DISTRICT_TZ

GroupBy = Literal["township", "owner", "unit"]


def in_reach(stmt: Select[Any], actor: Principal) -> Select[Any]:
    """Limit a query joined to Finding to the actor's area (township officers see their township only)."""
    if actor.is_area_scoped:
        return stmt.where(col(Finding.area_code).startswith(actor.area or "\0"))
    return stmt


@dataclass(frozen=True)
class FindingFilter:
    subject_id: str | None = None
    status: FindingStatus | None = None
    facets: Facets = field(default_factory=Facets)
    opened: Days = field(default_factory=Days)


async def list_findings(
    session: AsyncSession, actor: Principal, flt: FindingFilter, *, after: Key | None, limit: int
) -> list[Finding]:
    """Findings within the actor's area that pass the filter (opened on its days), newest first: (opened_at, id)
    descending, after the cursor's key."""
    flt.facets.ensure_reach(actor)
    stmt = in_reach(select(Finding), actor).where(*flt.facets.clauses(), *flt.opened.of_moments(col(Finding.opened_at)))
    if flt.subject_id:
        stmt = stmt.where(col(Finding.subject_id) == flt.subject_id)
    if flt.status:
        stmt = stmt.where(col(Finding.status) == flt.status)
    stmt = keyset(stmt, [col(Finding.opened_at), col(Finding.id)], after, limit=limit, descending=True)
    return list((await session.scalars(stmt)).all())


@dataclass(frozen=True)
class TaskFilter:
    finding_id: UUID | None = None
    owner: str | None = None
    township: str | None = None
    status: TaskStatus | None = None
    facets: Facets = field(default_factory=Facets)
    opened: Days = field(default_factory=Days)


def tasks_in_reach(actor: Principal, facets: Facets, *conditions: ColumnElement[bool]) -> Select[Any]:
    """Tasks joined to their findings, within the actor's area, whose findings have the facets asked for."""
    facets.ensure_reach(actor)
    stmt = select(RectificationTask).join(Finding, col(Finding.id) == col(RectificationTask.finding_id))
    return in_reach(stmt, actor).where(*facets.clauses(), *conditions)


async def list_tasks(
    session: AsyncSession, actor: Principal, flt: TaskFilter, *, after: Key | None, limit: int
) -> list[RectificationTask]:
    """Tasks within the actor's area that pass the filter (opened on its days), newest first: (opened_at, id)
    descending, after the cursor's key (a task's opening never changes, so a page boundary holds while deadlines
    move)."""
    if flt.township:
        actor.ensure_reach(flt.township)
    stmt = tasks_in_reach(actor, flt.facets, *flt.opened.of_moments(col(RectificationTask.opened_at)))
    if flt.finding_id:
        stmt = stmt.where(col(RectificationTask.finding_id) == flt.finding_id)
    if flt.owner:
        stmt = stmt.where(col(RectificationTask.owner) == flt.owner)
    if flt.township:
        stmt = stmt.where(col(Finding.area_code).startswith(flt.township))
    if flt.status:
        stmt = stmt.where(col(RectificationTask.status) == flt.status)
    columns = [col(RectificationTask.opened_at), col(RectificationTask.id)]
    return list((await session.scalars(keyset(stmt, columns, after, limit=limit, descending=True))).all())


@dataclass
class OpenTaskGroup:
    key: str
    total: int = 0
    overdue: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


async def open_task_summary(
    session: AsyncSession,
    actor: Principal,
    *,
    group_by: GroupBy,
    facets: Facets,
    now: datetime,
    after: Key | None,
    limit: int,
) -> list[OpenTaskGroup]:
    """Open (not yet verified) tasks whose findings have the facets, counted by township, owner or responsible unit,
    with how many are overdue; the groups in key order after the cursor's key (counted anew for each page)."""
    open_tasks = tasks_in_reach(actor, facets, col(RectificationTask.status).in_([*ACTIVE, TaskStatus.SUBMITTED]))
    stmt = open_tasks.with_only_columns(
        col(RectificationTask.status),
        col(RectificationTask.owner),
        col(RectificationTask.deadline),
        col(Finding.area_code),
        col(Finding.responsible_unit),
    )
    groups: dict[str, OpenTaskGroup] = {}
    for status, owner, deadline, area_code, unit in (await session.execute(stmt)).tuples().all():
        key = {"township": township_of(area_code), "owner": owner, "unit": unit or "-"}[group_by]
        group = groups.setdefault(key, OpenTaskGroup(key))
        group.total += 1
        group.by_status[status] = group.by_status.get(status, 0) + 1
        group.overdue += int(is_overdue(status, deadline, now))
    return sorted_after(list(groups.values()), lambda g: (g.key,), after, limit=limit)


async def overdue_tasks(
    session: AsyncSession, actor: Principal, *, facets: Facets, now: datetime, after: Key | None, limit: int
) -> list[RectificationTask]:
    """Tasks still with their owner past the deadline whose findings have the facets, longest overdue first:
    (deadline, id) after the cursor's key."""
    stmt = tasks_in_reach(actor, facets, task_overdue(now))
    columns = [col(RectificationTask.deadline), col(RectificationTask.id)]
    return list((await session.scalars(keyset(stmt, columns, after, limit=limit))).all())


async def rectification_rates(
    session: AsyncSession,
    actor: Principal,
    *,
    facets: Facets,
    start: date,
    end: date,
    after: Key | None,
    limit: int,
) -> list[RectificationRate]:
    """Of the period's findings with the facets: how many are closed and how long closing took, by township and
    category, in that order after the cursor's key."""
    facets.ensure_reach(actor)
    since, until = district_span(start, end)
    stmt = in_reach(
        select(col(Finding.area_code), col(Finding.category), col(Finding.opened_at), col(Finding.closed_at)).where(
            col(Finding.opened_at) >= since, col(Finding.opened_at) < until, *facets.clauses()
        ),
        actor,
    )
    rates = rates_of((await session.execute(stmt)).tuples().all())
    return sorted_after(rates, lambda r: (r.township, r.category), after, limit=limit)


@dataclass
class PeriodActivity:
    month: str
    referrals_by_reason: dict[str, int] = field(default_factory=dict)
    actions_by_kind: dict[str, int] = field(default_factory=dict)


async def referrals_and_accountability(
    session: AsyncSession, *, facets: Facets, start: date, end: date, after: Key | None, limit: int
) -> list[PeriodActivity]:
    """Referrals by reason and accountability decisions by kind, on findings with the facets (a referral's severity
    as referred), month by month (district calendar), from the month after the cursor's key."""
    since, until = district_span(start, end)
    months: dict[str, PeriodActivity] = {}
    referrals = (
        select(col(DisciplineReferral.referred_at), col(DisciplineReferral.reason))
        .join(Finding, col(Finding.id) == col(DisciplineReferral.finding_id))
        .where(
            col(DisciplineReferral.referred_at) >= since,
            col(DisciplineReferral.referred_at) < until,
            *facets.clauses(severity=col(DisciplineReferral.severity)),
        )
    )
    for referred_at, reason in (await session.execute(referrals)).tuples().all():
        month = months.setdefault(referred_at.astimezone(DISTRICT_TZ).strftime("%Y-%m"), PeriodActivity(""))
        month.referrals_by_reason[reason] = month.referrals_by_reason.get(reason, 0) + 1
    actions = (
        select(col(AccountabilityAction.decided_on), col(AccountabilityAction.kind))
        .join(Finding, col(Finding.id) == col(AccountabilityAction.finding_id))
        .where(
            col(AccountabilityAction.decided_on) >= start,
            col(AccountabilityAction.decided_on) <= end,
            *facets.clauses(),
        )
    )
    for decided_on, kind in (await session.execute(actions)).tuples().all():
        month = months.setdefault(decided_on.strftime("%Y-%m"), PeriodActivity(""))
        month.actions_by_kind[kind] = month.actions_by_kind.get(kind, 0) + 1
    for key, activity in months.items():
        activity.month = key
    return sorted_after(list(months.values()), lambda a: (a.month,), after, limit=limit)

"""Statistics by responsible person and by unit (责任人统计): of the findings opened in a period, how many each
answers for, how many are still open, overdue (the task still the owner's to do past its deadline, as the overdue
list has it), closed on time (rectified by the deadline) and closed late.
Counted by the database (one aggregate query a page), the most overdue first: who the commission should look at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, cast, func, null, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.audit.domain.filters import task_done_on_time, task_overdue
from services.audit.models import Finding, FindingStatus, RectificationTask
from services.audit.rules.periods import district_span
from shared.api.pagination import Key
from shared.auth import Principal


@dataclass(frozen=True)
class Window:
    """Whose findings are counted: opened from `start` to `end` (district calendar, inclusive), in an area."""

    start: date
    end: date
    area_code: str | None = None


@dataclass(frozen=True)
class Tally:
    key: str  # the person's login, or the unit
    name: str | None
    unit: str | None
    opened: int
    open: int
    overdue: int
    closed_on_time: int
    closed_late: int


def _count(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _area(window: Window, actor: Principal) -> str | None:
    """The area counted: the one asked for (within reach, else Forbidden), else a scoped actor's own."""
    if window.area_code is not None:
        actor.ensure_reach(window.area_code)
        return window.area_code
    return actor.area if actor.is_area_scoped else None


async def _tallies(
    session: AsyncSession,
    key: Any,
    name: Any,
    unit: Any,
    window: Window,
    actor: Principal,
    *,
    now: datetime,
    after: Key | None,
    limit: int,
) -> list[Tally]:
    since, until = district_span(window.start, window.end)
    is_open, is_closed = col(Finding.status) == FindingStatus.OPEN, col(Finding.status) == FindingStatus.CLOSED
    on_time = task_done_on_time(col(Finding.closed_at))
    stmt = (
        select(
            key.label("key"),
            name.label("name"),
            unit.label("unit"),
            func.count().label("opened"),
            _count(is_open).label("open"),
            _count(and_(is_open, task_overdue(now))).label("overdue"),
            _count(and_(is_closed, on_time)).label("closed_on_time"),
            _count(and_(is_closed, ~on_time)).label("closed_late"),
        )
        .select_from(Finding)
        .outerjoin(RectificationTask, col(RectificationTask.finding_id) == col(Finding.id))
        .where(col(Finding.opened_at) >= since, col(Finding.opened_at) < until, key.is_not(None))
        .group_by(key)
    )
    if (area := _area(window, actor)) is not None:
        stmt = stmt.where(col(Finding.area_code).startswith(area))
    grouped = stmt.subquery()
    page = select(grouped)
    if after is not None:
        overdue, last = after
        page = page.where(or_(grouped.c.overdue < overdue, and_(grouped.c.overdue == overdue, grouped.c.key > last)))
    rows = await session.execute(page.order_by(grouped.c.overdue.desc(), grouped.c.key).limit(limit))
    return [
        Tally(
            key=row.key,
            name=row.name,
            unit=row.unit,
            opened=int(row.opened),
            open=int(row.open),
            overdue=int(row.overdue),
            closed_on_time=int(row.closed_on_time),
            closed_late=int(row.closed_late),
        )
        for row in rows
    ]


async def by_person(
    session: AsyncSession, window: Window, actor: Principal, *, now: datetime, after: Key | None, limit: int
) -> list[Tally]:
    """Per responsible person (by login): findings naming no one are counted by unit only."""
    person = col(Finding.responsible_person_id)
    name, unit = func.max(col(Finding.responsible_person)), func.max(col(Finding.responsible_unit))
    return await _tallies(session, person, name, unit, window, actor, now=now, after=after, limit=limit)


async def by_unit(
    session: AsyncSession, window: Window, actor: Principal, *, now: datetime, after: Key | None, limit: int
) -> list[Tally]:
    """Per responsible unit; a finding recorded before units were kept counts under its task's owner (the
    township office)."""
    unit = func.coalesce(col(Finding.responsible_unit), col(RectificationTask.owner))
    nameless = cast(null(), String)  # a unit's row names no person
    return await _tallies(session, unit, nameless, unit, window, actor, now=now, after=after, limit=limit)

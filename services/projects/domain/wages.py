"""Wages a workshop paid its employed members for a month, and a household's wage income (工资性收入) as projects
knows it: those wages and its members' post allowances."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, Uuid, cast, func, literal, null, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects import events
from services.projects.domain.dates import refused
from services.projects.models import (
    Payroll,
    PayrollLine,
    RollHousehold,
    Workshop,
    WorkshopEmployment,
    WorkshopWage,
)
from services.projects.rules import dates
from services.projects.rules.payroll import live_in
from services.projects.rules.vocabulary import PayrollStatus, ShareStatus
from services.projects.schemas.posts import WageSource
from services.projects.schemas.workshops import WagesCreate
from shared.auth import Principal
from shared.contracts.projects import WorkshopWagesRecorded
from shared.db import keyset
from shared.errors import Conflict, InvalidInput, NotFound


async def record_wages(
    session: AsyncSession, workshop: Workshop, data: WagesCreate, *, actor: Principal, today: date, now: datetime
) -> list[WorkshopWage]:
    """Record a month's wages, one per employment, all or none; each publishes `WorkshopWagesRecorded`."""
    if not dates.period_begun(data.period, today=today):
        raise refused("period", "wages are recorded for a month that has begun", "period_not_begun")
    ids = [line.employment_id for line in data.lines]
    found = await session.scalars(
        select(WorkshopEmployment).where(
            col(WorkshopEmployment.id).in_(ids), col(WorkshopEmployment.workshop_id) == workshop.id
        )
    )
    employments = {e.id: e for e in found.all()}
    _check_employed(employments, ids, data.period)
    taken = await session.scalars(
        select(col(WorkshopWage.employment_id)).where(
            col(WorkshopWage.employment_id).in_(ids), col(WorkshopWage.period) == data.period
        )
    )
    if recorded := sorted(str(e) for e in taken.all()):
        raise Conflict(
            f"A wage for {data.period} is recorded already for some employments.",
            code="wage_recorded",
            employment_ids=recorded,
        )
    wages = [_wage(employments[line.employment_id], data.period, line.amount_fen, actor, now) for line in data.lines]
    session.add_all(wages)
    try:
        await session.flush()
    except IntegrityError as exc:  # recorded meanwhile by a concurrent request
        raise Conflict(f"A wage for {data.period} was recorded meanwhile.", code="wage_recorded") from exc
    for wage in wages:
        events.publish(session, _recorded(wage))
    return wages


def _check_employed(employments: dict[UUID, WorkshopEmployment], ids: list[UUID], period: str) -> None:
    """422 naming each line whose employment is not the workshop's or not live on any day of the month."""
    errors = []
    for index, employment_id in enumerate(ids):
        field, employment = f"body.lines.{index}.employment_id", employments.get(employment_id)
        if employment is None:
            errors.append(
                {"field": field, "message": "not an employment of this workshop", "code": "unknown_employment"}
            )
        elif not live_in(employment.started_on, employment.ended_on, period):
            message = "the member was not employed on any day of the month"
            errors.append({"field": field, "message": message, "code": "not_employed_in_period"})
    if errors:
        raise InvalidInput("Some wages are for no employment of the month.", errors=errors)


def _wage(
    employment: WorkshopEmployment, period: str, amount_fen: int, actor: Principal, now: datetime
) -> WorkshopWage:
    return WorkshopWage(
        employment_id=employment.id,
        workshop_id=employment.workshop_id,
        household_id=employment.household_id,
        member_id=employment.member_id,
        period=period,
        amount_fen=amount_fen,
        recorded_by=actor.subject,
        recorded_at=now,
    )


def _recorded(wage: WorkshopWage) -> WorkshopWagesRecorded:
    return WorkshopWagesRecorded(
        household_id=wage.household_id,
        member_id=wage.member_id,
        workshop_id=wage.workshop_id,
        wage_id=wage.id,
        period=wage.period,
        amount_fen=wage.amount_fen,
    )


async def wages_page(
    session: AsyncSession, workshop: Workshop, *, period: str | None, after: tuple[Any, ...] | None, limit: int
) -> list[WorkshopWage]:
    """The workshop's wages, the latest month first, optionally of one month."""
    stmt = _wages_of(select(WorkshopWage), workshop, period)
    key = (col(WorkshopWage.period), col(WorkshopWage.id))
    return list((await session.scalars(keyset(stmt, key, after, limit=limit, descending=True))).all())


async def wages_total(session: AsyncSession, workshop: Workshop, period: str) -> int:
    stmt = _wages_of(select(func.coalesce(func.sum(col(WorkshopWage.amount_fen)), 0)), workshop, period)
    return int(await session.scalar(stmt) or 0)


def _wages_of(stmt: Select[Any], workshop: Workshop, period: str | None) -> Select[Any]:
    stmt = stmt.where(col(WorkshopWage.workshop_id) == workshop.id)
    return stmt if period is None else stmt.where(col(WorkshopWage.period) == period)


async def rolled_household(session: AsyncSession, household_id: UUID, *, actor: Principal) -> RollHousehold:
    """A household on the roll the actor may reach."""
    household = await session.get(RollHousehold, household_id)
    if household is None:
        raise NotFound("No household on the roll has this id.")
    actor.ensure_reach(household.area_code)
    return household


async def household_wages(
    session: AsyncSession, household_id: UUID, *, year: int | None, after: tuple[Any, ...] | None, limit: int
) -> list[Any]:
    """The household's workshop wages and the post allowances of approved payrolls, the latest month first."""
    wages = select(
        literal(WageSource.WORKSHOP_WAGE.value).label("source"),
        col(WorkshopWage.id).label("id"),
        col(WorkshopWage.period).label("period"),
        col(WorkshopWage.member_id).label("member_id"),
        col(WorkshopWage.amount_fen).label("amount_fen"),
        literal(ShareStatus.PAID.value).label("status"),
        col(WorkshopWage.workshop_id).label("workshop_id"),
        cast(null(), Uuid).label("post_id"),
    ).where(col(WorkshopWage.household_id) == household_id)
    allowances = (
        select(
            literal(WageSource.POST_ALLOWANCE.value),
            col(PayrollLine.id),
            col(Payroll.period),
            col(PayrollLine.member_id),
            col(PayrollLine.amount_fen),
            col(PayrollLine.status),
            cast(null(), Uuid),
            col(PayrollLine.post_id),
        )
        .join(Payroll, col(Payroll.id) == col(PayrollLine.payroll_id))
        .where(col(PayrollLine.household_id) == household_id, col(Payroll.status) != PayrollStatus.PREPARED.value)
    )
    if year is not None:
        wages = wages.where(col(WorkshopWage.period).startswith(f"{year:04d}-"))
        allowances = allowances.where(col(Payroll.period).startswith(f"{year:04d}-"))
    both = union_all(wages, allowances).subquery()
    stmt = keyset(select(both), (both.c.period, both.c.id), after, limit=limit, descending=True)
    return list((await session.execute(stmt)).all())

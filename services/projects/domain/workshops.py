"""Employment workshops (就业工场 such as 同心就业工场 and its branches, 扶贫车间) and the poor households' members they
employ."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects.domain.dates import refused
from services.projects.domain.posts import living_member
from services.projects.models import Project, Workshop, WorkshopEmployment, WorkshopWage
from services.projects.rules import posts as spans
from services.projects.schemas.workshops import EmploymentCreate, WorkshopCreate
from shared.auth import Principal
from shared.contracts.households import HouseholdStatus
from shared.db import keyset
from shared.errors import Conflict, NotFound


@dataclass(frozen=True)
class Headcount:
    """Who a workshop employs today: itself, and with its branches."""

    workers: int = 0
    branch_count: int = 0
    workers_with_branches: int = 0


async def register_workshop(
    session: AsyncSession, data: WorkshopCreate, *, actor: Principal, now: datetime
) -> Workshop:
    """Register a workshop within the actor's reach, of a project and as a branch of a workshop they may reach."""
    actor.ensure_reach(data.area_code)
    if data.project_id is not None:
        project = await session.get(Project, data.project_id)
        if project is None:
            raise refused("project_id", "no project has this id", "unknown_project")
        actor.ensure_reach(project.area_code)
    if data.parent_id is not None:
        parent = await session.get(Workshop, data.parent_id)
        if parent is None:
            raise refused("parent_id", "no workshop has this id", "unknown_workshop")
        if parent.parent_id is not None:
            raise refused("parent_id", "a branch has no branches of its own", "branch_of_branch")
        actor.ensure_reach(parent.area_code)
    workshop = Workshop(
        **data.model_dump(exclude={"kind"}), kind=data.kind.value, registered_by=actor.subject, registered_at=now
    )
    session.add(workshop)
    return workshop


async def get_workshop(session: AsyncSession, workshop_id: UUID, *, actor: Principal, lock: bool = False) -> Workshop:
    """A workshop the actor may reach; `lock` holds its row, so that two hirings of one member take turns."""
    workshop = await session.get(Workshop, workshop_id, with_for_update=lock)
    if workshop is None:
        raise NotFound("No workshop has this id.")
    actor.ensure_reach(workshop.area_code)
    return workshop


async def list_workshops(
    session: AsyncSession, *, area_prefix: str, after: tuple[Any, ...] | None, limit: int
) -> list[Workshop]:
    """Workshops within `area_prefix`, the earliest registered first."""
    stmt = select(Workshop).where(col(Workshop.area_code).startswith(area_prefix))
    stmt = keyset(stmt, (col(Workshop.registered_at), col(Workshop.id)), after, limit=limit)
    return list((await session.scalars(stmt)).all())


def _live(on: date) -> Any:
    return (col(WorkshopEmployment.started_on) <= on) & or_(
        col(WorkshopEmployment.ended_on).is_(None), col(WorkshopEmployment.ended_on) >= on
    )


async def headcounts(session: AsyncSession, workshops: list[Workshop], *, today: date) -> dict[UUID, Headcount]:
    """Each workshop's members employed today, alone and with its branches (the report's "130 people, branches
    with 43 and 89"): two queries for the whole page."""
    ids = [w.id for w in workshops]
    branches = dict(
        (
            await session.execute(
                select(col(Workshop.id), col(Workshop.parent_id)).where(col(Workshop.parent_id).in_(ids))
            )
        )
        .tuples()
        .all()
    )
    counted = (
        select(col(WorkshopEmployment.workshop_id), func.count())
        .where(col(WorkshopEmployment.workshop_id).in_([*ids, *branches]), _live(today))
        .group_by(col(WorkshopEmployment.workshop_id))
    )
    workers: dict[UUID, int] = dict((await session.execute(counted)).tuples().all())
    counts = {}
    for workshop in workshops:
        own = [b for b, parent in branches.items() if parent == workshop.id]
        alone = workers.get(workshop.id, 0)
        counts[workshop.id] = Headcount(alone, len(own), alone + sum(workers.get(b, 0) for b in own))
    return counts


async def employ(
    session: AsyncSession, workshop: Workshop, data: EmploymentCreate, *, actor: Principal, now: datetime
) -> WorkshopEmployment:
    """A (locked) workshop employs a living member of a household on the roll, within the actor's reach and not
    exited without policies, not employed by it already."""
    household = await living_member(session, data.household_id, data.member_id)
    actor.ensure_reach(household.area_code)
    if household.status == HouseholdStatus.EXITED_NO_POLICIES:
        raise Conflict(
            "A household that exited without policies is not employed as a poor household.", code="not_entitled"
        )
    ends = await session.scalars(
        select(col(WorkshopEmployment.ended_on)).where(
            col(WorkshopEmployment.workshop_id) == workshop.id, col(WorkshopEmployment.member_id) == data.member_id
        )
    )
    if any(spans.meets_open_span(end, starting_on=data.started_on) for end in ends.all()):
        raise Conflict("The workshop employs this member on or after that day already.", code="already_employed")
    employment = WorkshopEmployment(
        workshop_id=workshop.id, **data.model_dump(), recorded_by=actor.subject, recorded_at=now
    )
    session.add(employment)
    return employment


async def end_employment(
    session: AsyncSession, workshop: Workshop, employment_id: UUID, ended_on: date, *, today: date
) -> WorkshopEmployment:
    """The member's last day at the workshop; not before a month whose wage is recorded."""
    employment = await session.get(WorkshopEmployment, employment_id)
    if employment is None or employment.workshop_id != workshop.id:
        raise NotFound("The workshop has no employment with this id.")
    if employment.ended_on is not None:
        raise Conflict("The employment has ended already.", code="already_ended")
    if reason := spans.end_refusal(employment.started_on, ended_on, today=today):
        raise refused("ended_on", "an employment ends after it started and not after today", reason)
    later = select(col(WorkshopWage.period)).where(
        col(WorkshopWage.employment_id) == employment.id, col(WorkshopWage.period) > ended_on.strftime("%Y-%m")
    )
    if (period := await session.scalar(later.limit(1))) is not None:
        raise Conflict(f"A wage is recorded for {period}, after that day.", code="wage_recorded")
    employment.ended_on = ended_on
    return employment


async def end_at_death(session: AsyncSession, *, member_id: UUID, died_on: date) -> None:
    """A member's death ends their employments on the day they died (one recorded as ending later ends then too)."""
    await session.execute(
        update(WorkshopEmployment)
        .where(
            col(WorkshopEmployment.member_id) == member_id,
            or_(col(WorkshopEmployment.ended_on).is_(None), col(WorkshopEmployment.ended_on) > died_on),
        )
        .values(ended_on=died_on)
    )


async def employments_page(
    session: AsyncSession, workshop: Workshop, *, after: tuple[Any, ...] | None, limit: int
) -> list[WorkshopEmployment]:
    """The workshop's employments, ended ones too, the earliest recorded first."""
    stmt = select(WorkshopEmployment).where(col(WorkshopEmployment.workshop_id) == workshop.id)
    stmt = keyset(stmt, (col(WorkshopEmployment.recorded_at), col(WorkshopEmployment.id)), after, limit=limit)
    return list((await session.scalars(stmt)).all())

"""Construction milestones (工程节点): planned with a due day, their progress reported as it stands, completed."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects.domain.dates import refused
from services.projects.models import Project, ProjectMilestone
from services.projects.rules import dates, lifecycle
from services.projects.schemas.lifecycle import MilestoneCreate, MilestoneUpdate
from shared.auth import Principal
from shared.db import keyset
from shared.errors import Conflict, NotFound

COMPLETE = 100


async def add_milestone(
    session: AsyncSession, project: Project, data: MilestoneCreate, *, actor: Principal, now: datetime
) -> ProjectMilestone:
    """Plan a milestone of an approved project or one under construction."""
    if dates.before_start(data.due_on, started_on=project.started_on):
        raise refused("due_on", "before the project's start", "before_project_start")
    lifecycle.ensure_status(project.status, lifecycle.BUILDING, doing="plan milestones")
    milestone = ProjectMilestone(
        project_id=project.id, name=data.name, due_on=data.due_on, updated_by=actor.subject, updated_at=now
    )
    session.add(milestone)
    await session.flush()
    return milestone


async def update_milestone(
    session: AsyncSession,
    project: Project,
    milestone_id: UUID,
    data: MilestoneUpdate,
    *,
    actor: Principal,
    today: date,
    now: datetime,
) -> ProjectMilestone:
    """Report a milestone's progress (never less than before) or its completion (progress 100)."""
    stmt = select(ProjectMilestone).where(
        col(ProjectMilestone.id) == milestone_id, col(ProjectMilestone.project_id) == project.id
    )
    milestone = (await session.scalars(stmt.with_for_update())).one_or_none()
    if milestone is None:
        raise NotFound("The project has no milestone with this id.")
    progress = _progress(milestone, data, project=project, today=today)
    lifecycle.ensure_status(project.status, lifecycle.BUILDING, doing="report construction progress")
    if milestone.completed_on is not None:
        raise Conflict(f"The milestone was completed on {milestone.completed_on}.", code="milestone_completed")
    milestone.progress_pct, milestone.completed_on = progress, data.completed_on
    milestone.updated_by, milestone.updated_at = actor.subject, now
    return milestone


def _progress(milestone: ProjectMilestone, data: MilestoneUpdate, *, project: Project, today: date) -> int:
    """The progress the update reports: 100 when it completes the milestone, which only a completion day does."""
    if data.completed_on is not None:
        if dates.in_future(data.completed_on, today=today):
            raise refused("completed_on", "a milestone is completed once it is, not before", "in_future")
        if dates.before_start(data.completed_on, started_on=project.started_on):
            raise refused("completed_on", "before the project's start", "before_project_start")
        if data.progress_pct not in (None, COMPLETE):
            raise refused("progress_pct", "a completed milestone is at 100 %", "progress_below_complete")
        progress = COMPLETE
    elif data.progress_pct == COMPLETE:
        raise refused("completed_on", "a milestone at 100 % is completed: give the day", "completed_on_required")
    else:
        progress = milestone.progress_pct if data.progress_pct is None else data.progress_pct
    if lifecycle.progress_goes_back(milestone.progress_pct, progress):
        raise refused("progress_pct", f"progress was {milestone.progress_pct} %: it never goes back", "progress_back")
    return progress


async def milestones_page(
    session: AsyncSession, project: Project, *, after: tuple[date, UUID] | None, limit: int
) -> list[ProjectMilestone]:
    """The project's milestones by due day."""
    stmt = select(ProjectMilestone).where(col(ProjectMilestone.project_id) == project.id)
    order = [col(ProjectMilestone.due_on), col(ProjectMilestone.id)]
    return list((await session.scalars(keyset(stmt, order, after, limit=limit))).all())


async def open_count(session: AsyncSession, project_id: UUID) -> int:
    """How many of the project's milestones are not completed."""
    found = await session.scalar(
        select(func.count()).where(
            col(ProjectMilestone.project_id) == project_id, col(ProjectMilestone.completed_on).is_(None)
        )
    )
    return int(found or 0)

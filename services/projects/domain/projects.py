"""The project stock (项目库): registering a project, finding the projects an actor may reach, and whether a project
is overdue (a milestone late, or acceptance not done by its day)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects import events
from services.projects.domain.dates import refused
from services.projects.models import FundAllocation, Project, ProjectFunding, ProjectMilestone
from services.projects.rules import dates
from services.projects.rules.lifecycle import ACCEPTANCE_DONE
from services.projects.rules.vocabulary import FundSource, ProjectStatus
from services.projects.schemas.projects import ProjectCreate
from shared.auth import Principal
from shared.contracts.projects import ProjectRegistered
from shared.errors import Conflict, NotFound


async def register_project(
    session: AsyncSession, data: ProjectCreate, *, actor: Principal, today: date, now: datetime
) -> Project:
    """Enter an industrial project in the project stock (项目库, 谋划入库): it starts planned."""
    if dates.starts_too_late(data.started_on, today=today):
        raise refused("started_on", "a project registered now starts within a year", "start_too_late")
    if data.acceptance_due_on is not None and dates.before_start(data.acceptance_due_on, started_on=data.started_on):
        raise refused("acceptance_due_on", "a project is not accepted before it starts", "before_project_start")
    actor.ensure_reach(data.area_code)
    project = Project(
        **data.model_dump(exclude={"kind"}),
        kind=data.kind.value,
        status=ProjectStatus.PLANNED.value,
        registered_at=now,
        status_changed_at=now,
    )
    session.add(project)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("A project with this project code already exists.") from exc
    events.publish(
        session,
        ProjectRegistered(
            project_id=project.id,
            name=project.name,
            kind=project.kind,
            area_code=project.area_code,
            budget_fen=project.budget_fen,
        ),
    )
    return project


async def get_project(
    session: AsyncSession, project_id: UUID, *, actor: Principal, for_update: bool = False
) -> Project:
    """A project the actor may reach, or NotFound/Forbidden; `for_update` locks its row until the transaction ends
    (a change of its status waits for another's)."""
    stmt = select(Project).where(col(Project.id) == project_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    project = (await session.scalars(stmt)).one_or_none()
    if project is None:
        raise NotFound("No project has this id.")
    actor.ensure_reach(project.area_code)
    return project


def overdue(today: date) -> ColumnElement[bool]:
    """In SQL: a milestone past its due day and not completed, or the acceptance due day passed while the project
    is not accepted (nor operating or closed)."""
    late_milestone = exists().where(
        col(ProjectMilestone.project_id) == col(Project.id),
        col(ProjectMilestone.completed_on).is_(None),
        col(ProjectMilestone.due_on) < today,
    )
    late_acceptance = and_(
        col(Project.acceptance_due_on).is_not(None),
        col(Project.acceptance_due_on) < today,
        col(Project.status).not_in([s.value for s in ACCEPTANCE_DONE]),
    )
    return or_(late_milestone, late_acceptance)


async def is_overdue(session: AsyncSession, project: Project, *, today: date) -> bool:
    found = await session.scalar(select(overdue(today)).where(col(Project.id) == project.id))
    return bool(found)


@dataclass(frozen=True)
class ProjectFilter:
    """Which projects a list holds: within an area, in a status, drawing on a source's line, overdue or not."""

    area_prefix: str = ""
    status: ProjectStatus | None = None
    fund_source: FundSource | None = None
    overdue: bool | None = None


async def list_projects(
    session: AsyncSession, which: ProjectFilter, *, today: date, after_code: str | None, limit: int
) -> list[tuple[Project, bool]]:
    """The projects `which` names, by project code, after the code `after_code`, each with whether it is overdue."""
    late = overdue(today)
    stmt = select(Project, late).where(col(Project.area_code).startswith(which.area_prefix))
    if which.status is not None:
        stmt = stmt.where(col(Project.status) == which.status.value)
    if which.fund_source is not None:
        stmt = stmt.where(_draws_on(which.fund_source))
    if which.overdue is not None:
        stmt = stmt.where(late if which.overdue else ~late)
    if after_code is not None:
        stmt = stmt.where(col(Project.project_code) > after_code)
    rows = await session.execute(stmt.order_by(col(Project.project_code)).limit(limit))
    return [(project, bool(late_now)) for project, late_now in rows.all()]


def _draws_on(source: FundSource) -> ColumnElement[bool]:
    return exists().where(
        col(ProjectFunding.project_id) == col(Project.id),
        col(ProjectFunding.allocation_id) == col(FundAllocation.id),
        col(FundAllocation.source) == source.value,
    )

"""The project stock (项目库): registering a project, finding the projects an actor may reach."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects import events
from services.projects.domain.dates import refused
from services.projects.models import Project
from services.projects.rules import dates
from services.projects.schemas.projects import ProjectCreate
from shared.auth import Principal
from shared.contracts.projects import ProjectRegistered
from shared.errors import Conflict, NotFound


async def register_project(
    session: AsyncSession, data: ProjectCreate, *, actor: Principal, today: date, now: datetime
) -> Project:
    """Enter an industrial project in the project stock (项目库)."""
    if dates.starts_too_late(data.started_on, today=today):
        raise refused("started_on", "a project registered now starts within a year", "start_too_late")
    actor.ensure_reach(data.area_code)
    project = Project(**data.model_dump(exclude={"kind"}), kind=data.kind.value, registered_at=now)
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


async def get_project(session: AsyncSession, project_id: UUID, *, actor: Principal) -> Project:
    """A project the actor may reach, or NotFound/Forbidden."""
    project = await session.get(Project, project_id)
    if project is None:
        raise NotFound("No project has this id.")
    actor.ensure_reach(project.area_code)
    return project


async def list_projects(
    session: AsyncSession, *, area_prefix: str, after_code: str | None, limit: int
) -> list[Project]:
    """Projects whose area lies within `area_prefix`, by project code, after the code `after_code`."""
    stmt = select(Project).where(col(Project.area_code).startswith(area_prefix))
    if after_code is not None:
        stmt = stmt.where(col(Project.project_code) > after_code)
    rows = await session.scalars(stmt.order_by(col(Project.project_code)).limit(limit))
    return list(rows.all())

"""Routes of the project stock (项目库): register, list, read."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from services.projects.api.deps import AreaFilter, Limit, Reader, Registrar
from services.projects.domain import projects
from services.projects.models import Project
from services.projects.schemas.projects import ProjectCreate, ProjectRead
from shared.api.clock import Now, Today
from shared.http import Transaction

router = APIRouter(prefix="/projects", tags=["projects"])


def _read(project: Project) -> ProjectRead:
    return ProjectRead(**project.model_dump())


@router.post("", status_code=status.HTTP_201_CREATED)
async def register_project(
    body: ProjectCreate, session: Transaction, actor: Registrar, now: Now, today: Today
) -> ProjectRead:
    """Register an industrial project (产业扶贫项目入库)."""
    return _read(await projects.register_project(session, body, actor=actor, today=today, now=now))


@router.get("")
async def list_projects(
    session: Transaction, actor: Reader, area_code: AreaFilter = None, limit: Limit = 100
) -> list[ProjectRead]:
    """Projects in an area (the caller's own area when scoped)."""
    scope = area_code or (actor.area if actor.is_area_scoped else None) or ""
    if actor.is_area_scoped:
        actor.ensure_reach(scope)
    return [_read(p) for p in await projects.list_projects(session, area_prefix=scope, limit=limit)]


@router.get("/{project_id}")
async def get_project(project_id: UUID, session: Transaction, actor: Reader) -> ProjectRead:
    return _read(await projects.get_project(session, project_id, actor=actor))

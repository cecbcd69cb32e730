"""Routes of the project stock (项目库): register, list, read."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from services.projects.api.deps import AreaFilter, Reader, Registrar
from services.projects.domain import projects
from services.projects.models import Project
from services.projects.schemas.projects import ProjectCreate, ProjectRead
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, text_key
from shared.http import Transaction

router = APIRouter(prefix="/projects", tags=["projects"])


def _read(project: Project) -> ProjectRead:
    return ProjectRead(**project.model_dump())


@router.post("", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def register_project(
    body: ProjectCreate, session: Transaction, actor: Registrar, idem: Idempotency, now: Now, today: Today
) -> ProjectRead:
    """Register an industrial project in the project stock (产业扶贫项目入库)

    Enters the project with its code (项目编号, kept in capitals), kind, area and budget, and publishes
    `ProjectRegistered` on `projects.events`: subsidies learns from it whose households share the project's income.

    Refused: a project code already registered, however it is capitalised (409); a start more than a year after
    today (422, `start_too_late`).
    """
    if (earlier := await idem.replay(body, ProjectRead)) is not None:
        return earlier
    project = await projects.register_project(session, body, actor=actor, today=today, now=now)
    return idem.remember(_read(project))


@router.get("")
async def list_projects(
    session: Transaction, actor: Reader, paging: Paging, area_code: AreaFilter = None
) -> Page[ProjectRead]:
    """List the project stock (项目库) of an area, by project code

    Without `area_code`, a township officer or village cadre lists their own area and every other caller the whole
    district. Pass `next_cursor` on for the next page.
    """
    scope = area_code or (actor.area if actor.is_area_scoped else None) or ""
    if actor.is_area_scoped:
        actor.ensure_reach(scope)
    after = paging.after(text_key)
    rows = await projects.list_projects(
        session, area_prefix=scope, after_code=after[0] if after else None, limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda p: [p.project_code])
    return Page(items=[_read(p) for p in items], next_cursor=next_cursor)


@router.get("/{project_id}")
async def get_project(project_id: UUID, session: Transaction, actor: Reader) -> ProjectRead:
    """Read one industrial project (产业扶贫项目) of the project stock"""
    return _read(await projects.get_project(session, project_id, actor=actor))

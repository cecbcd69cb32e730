"""Routes of the project stock (项目库): register, list, read."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from services.projects.api.deps import AreaFilter, Reader, Registrar
from services.projects.domain import projects
from services.projects.domain.projects import ProjectFilter
from services.projects.models import Project
from services.projects.rules.vocabulary import FundSource, ProjectStatus
from services.projects.schemas.projects import ProjectCreate, ProjectRead
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, text_key
from shared.http import Reading, Transaction

router = APIRouter(prefix="/projects", tags=["projects"])


def read(project: Project, *, overdue: bool) -> ProjectRead:
    return ProjectRead(**project.model_dump(), overdue=overdue)


@router.post("", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def register_project(
    body: ProjectCreate, session: Transaction, actor: Registrar, idem: Idempotency, now: Now, today: Today
) -> ProjectRead:
    """Register an industrial project in the project stock (产业扶贫项目入库)

    Enters the project, planned (谋划入库), with its code (项目编号, kept in capitals), kind, area, budget, its
    manager (项目负责人, who may never accept it) and the day it is to be accepted by, and publishes
    `ProjectRegistered` on `projects.events`.

    Refused: a project code already registered, however it is capitalised (409); a start more than a year after
    today (422, `start_too_late`); an acceptance due before the start (422, `before_project_start`).
    """
    if (earlier := await idem.replay(body, ProjectRead)) is not None:
        return earlier
    project = await projects.register_project(session, body, actor=actor, today=today, now=now)
    return idem.remember(read(project, overdue=await projects.is_overdue(session, project, today=today)))


@router.get("")
async def list_projects(
    session: Reading,
    actor: Reader,
    paging: Paging,
    today: Today,
    area_code: AreaFilter = None,
    status: ProjectStatus | None = None,
    fund_source: Annotated[
        FundSource | None, Query(description="only projects drawing on a funding line of this source")
    ] = None,
    overdue: Annotated[
        bool | None, Query(description="true: only overdue projects; false: only those not overdue")
    ] = None,
) -> Page[ProjectRead]:
    """List the project stock (项目库) of an area, by project code

    Without `area_code`, a township officer or village cadre lists their own area and every other caller the whole
    district. Filter by status, by the source of the funding lines a project draws on, and by whether it is overdue
    today (a milestone past its due day and not completed, or acceptance due and not done). Pass `next_cursor` on
    for the next page.
    """
    scope = area_code or (actor.area if actor.is_area_scoped else None) or ""
    if actor.is_area_scoped:
        actor.ensure_reach(scope)
    after = paging.after(text_key)
    which = ProjectFilter(area_prefix=scope, status=status, fund_source=fund_source, overdue=overdue)
    rows = await projects.list_projects(
        session, which, today=today, after_code=after[0] if after else None, limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda row: [row[0].project_code])
    return Page(items=[read(p, overdue=late) for p, late in items], next_cursor=next_cursor)


@router.get("/{project_id}")
async def get_project(project_id: UUID, session: Reading, actor: Reader, today: Today) -> ProjectRead:
    """Read one industrial project (产业扶贫项目) of the project stock, with its status and whether it is overdue"""
    project = await projects.get_project(session, project_id, actor=actor)
    return read(project, overdue=await projects.is_overdue(session, project, today=today))

"""HTTP routes of the projects service: parse, authorize, call the domain, shape the response."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, status

from services.projects import domain
from services.projects.models import Project, ProjectProblem
from services.projects.schemas import (
    IncomeCreate,
    IncomeRead,
    InspectionCreate,
    InspectionRead,
    OpenProblemRead,
    ProblemRead,
    ProjectCreate,
    ProjectRead,
)
from shared.areas import AreaCode
from shared.auth import Principal, Role, require_roles
from shared.http import Transaction

router = APIRouter(prefix="/projects", tags=["projects"])

Registrar = Annotated[Principal, Depends(require_roles(Role.DISTRICT_OFFICE, Role.TOWNSHIP_OFFICE))]
Inspector = Annotated[Principal, Depends(require_roles(Role.INSPECTOR, Role.DISTRICT_OFFICE, Role.TOWNSHIP_OFFICE))]
Treasurer = Annotated[Principal, Depends(require_roles(Role.FINANCE_OFFICER, Role.DISTRICT_OFFICE))]
Reader = Annotated[
    Principal,
    Depends(
        require_roles(
            Role.DISTRICT_OFFICE,
            Role.TOWNSHIP_OFFICE,
            Role.VILLAGE_CADRE,
            Role.INSPECTOR,
            Role.FINANCE_OFFICER,
            Role.AUDITOR,
            Role.DISCIPLINE_COMMISSION,
            Role.SERVICE,
        )
    ),
]
AreaFilter = Annotated[AreaCode | None, Query()]
Limit = Annotated[int, Query(ge=1, le=500)]


def _read(project: Project) -> ProjectRead:
    return ProjectRead(**project.model_dump())


@router.post("", status_code=status.HTTP_201_CREATED)
async def register_project(body: ProjectCreate, session: Transaction, actor: Registrar) -> ProjectRead:
    """Register an industrial project (产业扶贫项目入库)."""
    return _read(await domain.register_project(session, body, actor=actor))


@router.get("")
async def list_projects(
    session: Transaction, actor: Reader, area_code: AreaFilter = None, limit: Limit = 100
) -> list[ProjectRead]:
    """Projects in an area (the caller's own area when scoped)."""
    scope = area_code or (actor.area if actor.is_area_scoped else None) or ""
    if actor.is_area_scoped:
        actor.ensure_reach(scope)
    return [_read(p) for p in await domain.list_projects(session, area_prefix=scope, limit=limit)]


@router.get("/{project_id}")
async def get_project(project_id: UUID, session: Transaction, actor: Reader) -> ProjectRead:
    return _read(await domain.get_project(session, project_id, actor=actor))


@router.post("/{project_id}/inspections", status_code=status.HTTP_201_CREATED)
async def record_inspection(
    project_id: UUID, body: InspectionCreate, session: Transaction, actor: Inspector
) -> InspectionRead:
    """Record a project inspection (两看一及时); each problem found goes to audit as an event."""
    project = await domain.get_project(session, project_id, actor=actor)
    inspection, problems = await domain.record_inspection(session, project, body, actor=actor)
    return InspectionRead(**inspection.model_dump(), problems=[_problem(p) for p in problems])


@router.post("/{project_id}/income", status_code=status.HTTP_201_CREATED)
async def record_income(project_id: UUID, body: IncomeCreate, session: Transaction, actor: Treasurer) -> IncomeRead:
    """Record a project's income (收益) for a period; subsidies distributes it to poor households."""
    project = await domain.get_project(session, project_id, actor=actor)
    income = await domain.record_income(session, project, body, actor=actor)
    return IncomeRead(**income.model_dump())


@router.get("/{project_id}/open-problems")
async def open_problems(project_id: UUID, session: Transaction, actor: Reader) -> list[OpenProblemRead]:
    """The project's open findings, their rectification deadlines and referrals."""
    await domain.get_project(session, project_id, actor=actor)
    return [OpenProblemRead(**p.model_dump()) for p in await domain.open_problems(session, project_id)]


def _problem(p: ProjectProblem) -> ProblemRead:
    return ProblemRead(id=p.id, code=p.code, description=p.description)

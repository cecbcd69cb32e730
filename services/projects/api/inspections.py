"""Routes of project inspections (两看一及时)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from services.projects.api.deps import Inspector
from services.projects.domain import inspections, projects
from services.projects.schemas.inspections import InspectionCreate, InspectionRead, ProblemRead
from shared.api.clock import Today
from shared.http import Transaction

router = APIRouter(prefix="/projects", tags=["projects"])


@router.post("/{project_id}/inspections", status_code=status.HTTP_201_CREATED)
async def record_inspection(
    project_id: UUID, body: InspectionCreate, session: Transaction, actor: Inspector, today: Today
) -> InspectionRead:
    """Record a project inspection; each problem found goes to audit as an event."""
    project = await projects.get_project(session, project_id, actor=actor)
    inspection, problems = await inspections.record_inspection(session, project, body, actor=actor, today=today)
    return InspectionRead(
        **inspection.model_dump(),
        problems=[ProblemRead(id=p.id, code=p.code, description=p.description) for p in problems],
    )

"""Routes of a project's open findings (audit's, as projects follows them)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from services.projects.api.deps import Reader
from services.projects.domain import open_findings, projects
from services.projects.schemas.open_findings import OpenFindingRead
from shared.http import Transaction

router = APIRouter(prefix="/projects", tags=["projects"])


@router.get("/{project_id}/open-findings")
async def list_open_findings(project_id: UUID, session: Transaction, actor: Reader) -> list[OpenFindingRead]:
    """The project's open findings, their rectification deadlines and referrals."""
    await projects.get_project(session, project_id, actor=actor)
    return [OpenFindingRead(**f.model_dump()) for f in await open_findings.open_findings(session, project_id)]

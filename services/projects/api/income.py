"""Routes of a project's income (收益)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from services.projects.api.deps import Treasurer
from services.projects.domain import income, projects
from services.projects.schemas.income import IncomeCreate, IncomeRead
from shared.api.clock import Now, Today
from shared.http import Transaction

router = APIRouter(prefix="/projects", tags=["projects"])


@router.post("/{project_id}/income", status_code=status.HTTP_201_CREATED)
async def record_income(
    project_id: UUID, body: IncomeCreate, session: Transaction, actor: Treasurer, now: Now, today: Today
) -> IncomeRead:
    """Record a project's income for a period; subsidies distributes it to poor households."""
    project = await projects.get_project(session, project_id, actor=actor)
    recorded = await income.record_income(session, project, body, actor=actor, today=today, now=now)
    return IncomeRead(**recorded.model_dump())

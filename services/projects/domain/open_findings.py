"""A project's open findings: audit's findings about it that audit has not closed yet (read model)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects.models import ProjectOpenFinding


async def open_findings(session: AsyncSession, project_id: UUID) -> list[ProjectOpenFinding]:
    """The project's findings that audit still has open, the least recently changed first."""
    rows = await session.scalars(
        select(ProjectOpenFinding)
        .where(col(ProjectOpenFinding.project_id) == project_id, col(ProjectOpenFinding.closed).is_(False))
        .order_by(col(ProjectOpenFinding.updated_at))
    )
    return list(rows.all())

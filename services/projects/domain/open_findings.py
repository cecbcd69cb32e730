"""A project's open findings: audit's findings about it that audit has not closed yet (read model)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects.models import ProjectOpenFinding


async def open_findings(
    session: AsyncSession, project_id: UUID, *, after: tuple[datetime, UUID] | None, limit: int
) -> list[ProjectOpenFinding]:
    """The project's findings that audit still has open, the least recently changed first, after the cursor's
    (updated_at, finding_id). A finding that changes while a client pages moves to the end, so it may come again in
    its new state, and none is skipped."""
    stmt = select(ProjectOpenFinding).where(
        col(ProjectOpenFinding.project_id) == project_id, col(ProjectOpenFinding.closed).is_(False)
    )
    if after is not None:
        changed, finding_id = after
        stmt = stmt.where(
            or_(
                col(ProjectOpenFinding.updated_at) > changed,
                and_(col(ProjectOpenFinding.updated_at) == changed, col(ProjectOpenFinding.finding_id) > finding_id),
            )
        )
    order = (col(ProjectOpenFinding.updated_at), col(ProjectOpenFinding.finding_id))
    return list((await session.scalars(stmt.order_by(*order).limit(limit))).all())

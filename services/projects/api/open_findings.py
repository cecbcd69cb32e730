"""Routes of a project's open findings (audit's, as projects follows them)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from services.projects.api.deps import Reader
from services.projects.domain import open_findings, projects
from services.projects.schemas.open_findings import OpenFindingRead
from shared.api.pagination import Page, Paging, datetime_key, uuid_key
from shared.http import Reading

router = APIRouter(prefix="/projects", tags=["projects"])


@router.get("/{project_id}/open-findings")
async def list_open_findings(
    project_id: UUID, session: Reading, actor: Reader, paging: Paging
) -> Page[OpenFindingRead]:
    """List a project's open findings (问题整改台账): audit's findings not yet rectified and closed

    Each with its rectification deadline and whether it was referred to the discipline commission, as audit's
    events reported them; the least recently changed first. A finding that changes while you page moves to the end
    and may come again in its new state. Pass `next_cursor` on for the next page.
    """
    await projects.get_project(session, project_id, actor=actor)
    after = paging.after(datetime_key, uuid_key)
    rows = await open_findings.open_findings(session, project_id, after=after, limit=paging.limit + 1)
    items, next_cursor = paging.page(rows, lambda f: [f.updated_at.isoformat(), str(f.finding_id)])
    return Page(items=[OpenFindingRead(**f.model_dump()) for f in items], next_cursor=next_cursor)

"""Routes of project inspections (两看一及时)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from services.projects.api.deps import Inspector, Reader
from services.projects.domain import inspections, projects
from services.projects.models import ProjectInspection, ProjectProblem
from services.projects.schemas.inspections import InspectionCreate, InspectionRead, ProblemRead
from shared.api.clock import Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, date_key, uuid_key
from shared.http import Reading, Transaction

router = APIRouter(prefix="/projects", tags=["projects"])


def _read(inspection: ProjectInspection, problems: list[ProjectProblem]) -> InspectionRead:
    return InspectionRead(
        **inspection.model_dump(),
        problems=[ProblemRead(id=p.id, code=p.code, description=p.description, severity=p.severity) for p in problems],
    )


@router.post("/{project_id}/inspections", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def record_inspection(
    project_id: UUID, body: InspectionCreate, session: Transaction, actor: Inspector, idem: Idempotency, today: Today
) -> InspectionRead:
    """Record a project inspection (两看一及时: look at the asset, look at the operation, fix promptly)

    Keeps the inspection and each problem it found, and publishes every problem as `ProjectProblemFound` on
    `projects.events` with the severity the inspector chose, from which audit opens a finding (a severe one, such as
    an asset missing or income diverted, is referred to the discipline commission at once); the finding comes back
    as the project's open finding.

    Refused: an inspection dated after today (422, `in_future`) or before the project started (422,
    `before_project_start`); a problem code reported twice (422, `repeated_problem_code`).
    """
    if (earlier := await idem.replay(body, InspectionRead)) is not None:
        return earlier
    project = await projects.get_project(session, project_id, actor=actor)
    inspection, problems = await inspections.record_inspection(session, project, body, actor=actor, today=today)
    return idem.remember(_read(inspection, problems))


@router.get("/{project_id}/inspections")
async def list_inspections(project_id: UUID, session: Reading, actor: Reader, paging: Paging) -> Page[InspectionRead]:
    """List a project's inspections (两看一及时), the latest first, with the problems each found

    The problems of an inspection are listed by code. Pass `next_cursor` on for the next page.
    """
    project = await projects.get_project(session, project_id, actor=actor)
    rows = await inspections.inspections_page(
        session, project, after=paging.after(date_key, uuid_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda r: [r[0].inspected_on.isoformat(), str(r[0].id)])
    return Page(items=[_read(*row) for row in items], next_cursor=next_cursor)

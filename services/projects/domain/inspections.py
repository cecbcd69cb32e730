"""Project inspections (两看一及时): each problem found is published for audit to turn into a finding."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects.domain import problems as problems_found
from services.projects.domain.dates import refused
from services.projects.models import Project, ProjectInspection, ProjectProblem
from services.projects.rules import dates
from services.projects.rules.vocabulary import ProblemOrigin
from services.projects.schemas.inspections import InspectionCreate
from shared.auth import Principal


async def record_inspection(
    session: AsyncSession, project: Project, data: InspectionCreate, *, actor: Principal, today: date
) -> tuple[ProjectInspection, list[ProjectProblem]]:
    """Record an inspection; every problem it found is published for audit (问题 -> 整改), with the severity the
    inspector chose."""
    _ensure_inspected_on(data.inspected_on, project, today=today)
    inspection = ProjectInspection(
        project_id=project.id, inspected_on=data.inspected_on, inspector=data.inspector, notes=data.notes
    )
    session.add(inspection)
    await session.flush()  # problems reference it; without relationships the flush order is ours to set
    problems = [
        await problems_found.report_problem(
            session,
            project,
            code=p.code,
            description=p.description,
            found_on=data.inspected_on,
            found_by=actor.subject,
            origin=ProblemOrigin.INSPECTION,
            severity=p.severity,
            inspection_id=inspection.id,
        )
        for p in data.problems
    ]
    return inspection, [problem for problem in problems if problem is not None]


def _ensure_inspected_on(inspected_on: date, project: Project, *, today: date) -> None:
    if dates.in_future(inspected_on, today=today):
        raise refused("inspected_on", "inspection date cannot be in the future", "in_future")
    if dates.before_start(inspected_on, started_on=project.started_on):
        raise refused("inspected_on", "before the project's start", "before_project_start")


async def inspections_page(
    session: AsyncSession, project: Project, *, after: tuple[date, UUID] | None, limit: int
) -> list[tuple[ProjectInspection, list[ProjectProblem]]]:
    """The project's inspections, the latest first (by date, then id), after the cursor's, with their problems."""
    stmt = select(ProjectInspection).where(col(ProjectInspection.project_id) == project.id)
    if after is not None:
        on, inspection_id = after
        stmt = stmt.where(
            or_(
                col(ProjectInspection.inspected_on) < on,
                and_(col(ProjectInspection.inspected_on) == on, col(ProjectInspection.id) < inspection_id),
            )
        )
    order = (col(ProjectInspection.inspected_on).desc(), col(ProjectInspection.id).desc())
    found = list((await session.scalars(stmt.order_by(*order).limit(limit))).all())
    problems = await session.scalars(
        select(ProjectProblem)
        .where(col(ProjectProblem.inspection_id).in_([i.id for i in found]))
        .order_by(col(ProjectProblem.code))
    )
    by_inspection: dict[UUID | None, list[ProjectProblem]] = {i.id: [] for i in found}
    for problem in problems.all():
        by_inspection[problem.inspection_id].append(problem)
    return [(inspection, by_inspection[inspection.id]) for inspection in found]

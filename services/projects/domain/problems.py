"""Problems found with a project (问题), however found: each is kept and published for audit to turn into a finding.

An inspection (两看一及时) or an acceptance (验收) reports what it saw; a scheduled check reports one problem about one
thing once (`subject_ref`: the milestone, contract or income it is about), however often it runs.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects import events
from services.projects.models import Project, ProjectProblem
from services.projects.rules.vocabulary import ProblemOrigin
from shared.contracts.accountability import ResponsiblePerson, ResponsibleRole
from shared.contracts.audit import Severity
from shared.contracts.projects import ProjectProblemFound


async def report_problem(
    session: AsyncSession,
    project: Project,
    *,
    code: str,
    description: str,
    found_on: date,
    found_by: str,
    origin: ProblemOrigin,
    severity: Severity | None = None,
    inspection_id: UUID | None = None,
    subject_ref: str = "",
) -> ProjectProblem | None:
    """Keep the problem and publish `ProjectProblemFound`, naming the project's manager as who answers for it;
    None when a check already reported it."""
    if origin is ProblemOrigin.CHECK and await _already_reported(session, project.id, code, subject_ref):
        return None
    problem = ProjectProblem(
        inspection_id=inspection_id,
        project_id=project.id,
        code=code,
        description=description,
        severity=severity.value if severity else None,
        origin=origin.value,
        subject_ref=subject_ref,
        found_on=found_on,
    )
    session.add(problem)
    events.publish(
        session,
        ProjectProblemFound(
            project_id=project.id,
            problem_id=problem.id,
            area_code=project.area_code,
            code=code,
            description=description,
            found_on=found_on,
            found_by=found_by,
            severity=severity,
            responsible=manager_of(project),
        ),
    )
    return problem


def manager_of(project: Project) -> ResponsiblePerson | None:
    """The project's manager (项目负责人) as its problems' responsible person, unit `项目 <project code>`; None when
    the project names no manager."""
    if project.manager_id is None:
        return None
    return ResponsiblePerson(
        person_id=project.manager_id,
        name=(project.manager_name or project.manager_id)[:50],
        unit=f"项目 {project.project_code}",
        role=ResponsibleRole.PROJECT_MANAGER,
    )


async def _already_reported(session: AsyncSession, project_id: UUID, code: str, subject_ref: str) -> bool:
    stmt = select(col(ProjectProblem.id)).where(
        col(ProjectProblem.project_id) == project_id,
        col(ProjectProblem.code) == code,
        col(ProjectProblem.subject_ref) == subject_ref,
        col(ProjectProblem.origin) == ProblemOrigin.CHECK.value,
    )
    return (await session.scalar(stmt.limit(1))) is not None

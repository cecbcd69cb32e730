"""Acceptance (验收) of a completed project, by an officer who is not its manager: passed, it makes the project
accepted; each finding is a problem published for audit, passed or not."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects.domain import lifecycle
from services.projects.domain.dates import refused
from services.projects.domain.problems import report_problem
from services.projects.models import Project, ProjectAcceptance
from services.projects.rules.lifecycle import ensure_status
from services.projects.rules.vocabulary import ProblemOrigin, ProjectStatus
from services.projects.schemas.lifecycle import AcceptanceCreate
from shared.auth import Principal
from shared.db import keyset
from shared.duties import ensure_someone_else


async def record_acceptance(
    session: AsyncSession, project: Project, data: AcceptanceCreate, *, actor: Principal, today: date, now: datetime
) -> ProjectAcceptance:
    """Keep the acceptance of the project (locked by the caller) and report its findings; passed, the project is
    accepted from `accepted_on`."""
    if not data.passed and not data.findings:
        raise refused("findings", "an acceptance not passed says what it found", "findings_required")
    ensure_status(project.status, {ProjectStatus.COMPLETED}, doing="be accepted")
    ensure_someone_else(
        actor.subject,
        project.manager_id,
        message="A project is accepted by an officer other than its manager (项目负责人).",
    )
    await lifecycle.ensure_effective(session, project, data.accepted_on, today=today, field="accepted_on")
    findings = []
    for finding in data.findings:
        problem = await report_problem(
            session,
            project,
            code=finding.code,
            description=finding.description,
            found_on=data.accepted_on,
            found_by=actor.subject,
            origin=ProblemOrigin.ACCEPTANCE,
            severity=finding.severity,
        )
        assert problem is not None  # only a scheduled check's repeat is not reported again
        findings.append({**finding.model_dump(mode="json"), "problem_id": str(problem.id)})
    acceptance = ProjectAcceptance(
        project_id=project.id,
        accepted_on=data.accepted_on,
        officer_id=actor.subject,
        officer_name=data.officer_name,
        passed=data.passed,
        findings=findings,
        recorded_at=now,
    )
    session.add(acceptance)
    if data.passed:
        note = f"验收通过: {data.officer_name}"
        await lifecycle.change_status(
            session,
            project,
            ProjectStatus.ACCEPTED,
            effective_on=data.accepted_on,
            note=note,
            by=actor.subject,
            now=now,
        )
    await session.flush()
    return acceptance


async def acceptances_page(
    session: AsyncSession, project: Project, *, after: tuple[date, UUID] | None, limit: int
) -> list[ProjectAcceptance]:
    """The project's acceptances, the latest first."""
    stmt = select(ProjectAcceptance).where(col(ProjectAcceptance.project_id) == project.id)
    order = [col(ProjectAcceptance.accepted_on), col(ProjectAcceptance.id)]
    return list((await session.scalars(keyset(stmt, order, after, limit=limit, descending=True))).all())

"""Project rules in use: registration, inspections, income (no HTTP, no Kafka; the outbox carries events)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects.models import (
    Project,
    ProjectIncome,
    ProjectInspection,
    ProjectOpenProblem,
    ProjectProblem,
)
from services.projects.schemas import IncomeCreate, InspectionCreate, ProjectCreate
from shared.auth import Principal
from shared.contracts.projects import ProjectIncomeRecorded, ProjectProblemFound, ProjectRegistered
from shared.errors import Conflict, InvalidInput, NotFound
from shared.messaging.outbox import record_event
from shared.timeutil import period_start

SOURCE = "/services/projects"


async def register_project(session: AsyncSession, data: ProjectCreate, *, actor: Principal) -> Project:
    """Enter an industrial project in the project stock (项目库)."""
    actor.ensure_reach(data.area_code)
    project = Project(**data.model_dump(exclude={"kind"}), kind=data.kind.value)
    session.add(project)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("A project with this project code already exists.") from exc
    record_event(
        session,
        ProjectRegistered(
            project_id=project.id,
            name=project.name,
            kind=project.kind,
            area_code=project.area_code,
            budget_fen=project.budget_fen,
        ),
        source=SOURCE,
    )
    return project


async def get_project(session: AsyncSession, project_id: UUID, *, actor: Principal) -> Project:
    """A project the actor may reach, or NotFound/Forbidden."""
    project = await session.get(Project, project_id)
    if project is None:
        raise NotFound("No project has this id.")
    actor.ensure_reach(project.area_code)
    return project


async def list_projects(session: AsyncSession, *, area_prefix: str, limit: int) -> list[Project]:
    """Projects whose area lies within `area_prefix`, by project code."""
    rows = await session.scalars(
        select(Project)
        .where(col(Project.area_code).startswith(area_prefix))
        .order_by(Project.project_code)
        .limit(limit)
    )
    return list(rows.all())


def ensure_not_before_start(on: date, started: date, *, field: str) -> None:
    """Nothing is inspected or earned before a project started: such a date is a typing error, and an income
    recorded for it would be shared out to households all the same."""
    if on < started:
        raise InvalidInput(
            "The date is before the project started.",
            errors=[{"field": field, "message": "before the project's start", "code": "before_project_start"}],
        )


async def record_inspection(
    session: AsyncSession, project: Project, data: InspectionCreate, *, actor: Principal
) -> tuple[ProjectInspection, list[ProjectProblem]]:
    """Record an inspection (两看一及时); every problem it found is published for audit (问题 -> 整改)."""
    ensure_not_before_start(data.inspected_on, project.started_on, field="body.inspected_on")
    inspection = ProjectInspection(
        project_id=project.id, inspected_on=data.inspected_on, inspector=data.inspector, notes=data.notes
    )
    session.add(inspection)
    await session.flush()  # problems reference it; without relationships the flush order is ours to set
    problems = [
        ProjectProblem(inspection_id=inspection.id, project_id=project.id, code=p.code, description=p.description)
        for p in data.problems
    ]
    session.add_all(problems)
    for problem in problems:
        record_event(
            session,
            ProjectProblemFound(
                project_id=project.id,
                problem_id=problem.id,
                area_code=project.area_code,
                code=problem.code,
                description=problem.description,
                found_on=data.inspected_on,
                found_by=actor.subject,
            ),
            source=SOURCE,
        )
    return inspection, problems


async def record_income(
    session: AsyncSession, project: Project, data: IncomeCreate, *, actor: Principal
) -> ProjectIncome:
    """Record a project's income (收益) for a period, once; it is then distributed to poor households."""
    month_started = project.started_on.replace(day=1)  # income for the month it started counts
    ensure_not_before_start(period_start(data.period), month_started, field="body.period")
    income = ProjectIncome(
        project_id=project.id, period=data.period, amount_fen=data.amount_fen, recorded_by=actor.subject
    )
    session.add(income)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("Income for this project and period is already recorded.") from exc
    record_event(
        session,
        ProjectIncomeRecorded(
            project_id=project.id, income_id=income.id, period=income.period, amount_fen=income.amount_fen
        ),
        source=SOURCE,
    )
    return income


async def open_problems(session: AsyncSession, project_id: UUID) -> list[ProjectOpenProblem]:
    """The project's problems that audit still has open."""
    rows = await session.scalars(
        select(ProjectOpenProblem)
        .where(col(ProjectOpenProblem.project_id) == project_id, col(ProjectOpenProblem.closed).is_(False))
        .order_by(col(ProjectOpenProblem.updated_at))
    )
    return list(rows.all())

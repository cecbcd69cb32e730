"""A project's life (项目全周期): moving it along (planned → approved → under construction → completed → accepted →
operating → closed), each step kept in its history and published as `ProjectStatusChanged`."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects import events
from services.projects.domain import funding, milestones
from services.projects.domain.dates import refused
from services.projects.models import Project, ProjectAsset, ProjectStatusChange
from services.projects.rules import dates, lifecycle
from services.projects.rules.vocabulary import ProjectStatus
from services.projects.schemas.lifecycle import TransitionCreate
from shared.auth import Principal
from shared.contracts.projects import ProjectStatusChanged
from shared.db import keyset
from shared.errors import Conflict


async def transition(
    session: AsyncSession, project: Project, data: TransitionCreate, *, actor: Principal, today: date, now: datetime
) -> ProjectStatusChange:
    """Move the project (locked by the caller) to `data.to_status`, if the move exists, the actor may make it and
    the project has what the move needs."""
    lifecycle.ensure_move(ProjectStatus(project.status), data.to_status, actor.acting_roles)
    await ensure_effective(session, project, data.effective_on, today=today, field="effective_on")
    _ensure_acceptance_due(project, data)
    need = lifecycle.unmet_need(data.to_status, await _readiness(session, project))
    if need is not None:
        code, message = need
        raise Conflict(message, code=code)
    if data.acceptance_due_on is not None:
        project.acceptance_due_on = data.acceptance_due_on
    return await change_status(
        session, project, data.to_status, effective_on=data.effective_on, note=data.note, by=actor.subject, now=now
    )


def _ensure_acceptance_due(project: Project, data: TransitionCreate) -> None:
    """Approval fixes the day of acceptance (the body may carry it); no other move changes it."""
    if not lifecycle.needs_acceptance_due(data.to_status):
        if data.acceptance_due_on is not None:
            raise refused("acceptance_due_on", "set on approval only", "not_on_this_transition")
        return
    due = data.acceptance_due_on or project.acceptance_due_on
    if due is None:
        raise refused(
            "acceptance_due_on", "approval fixes the day the project is accepted by", "acceptance_due_required"
        )
    if due < data.effective_on:
        raise refused("acceptance_due_on", "acceptance falls due after the approval", "due_before_approval")


async def _readiness(session: AsyncSession, project: Project) -> lifecycle.Readiness:
    assets = await session.scalar(select(func.count()).where(col(ProjectAsset.project_id) == project.id))
    return lifecycle.Readiness(
        funding_draws=await funding.draws_of(session, project.id),
        open_milestones=await milestones.open_count(session, project.id),
        assets=int(assets or 0),
    )


async def ensure_effective(session: AsyncSession, project: Project, on: date, *, today: date, field: str) -> None:
    """A step of the project's life happened: not in the future, not before the step it follows."""
    if dates.in_future(on, today=today):
        raise refused(field, "a step is recorded once taken, not before", "in_future")
    last = await session.scalar(
        select(func.max(col(ProjectStatusChange.effective_on))).where(col(ProjectStatusChange.project_id) == project.id)
    )
    if lifecycle.effective_too_early(on, last_effective_on=last):
        raise refused(field, f"before the project's last change ({last})", "before_last_change")


async def change_status(
    session: AsyncSession,
    project: Project,
    to_status: ProjectStatus,
    *,
    effective_on: date,
    note: str,
    by: str,
    now: datetime,
) -> ProjectStatusChange:
    """Keep the step in the project's history and publish it."""
    change = ProjectStatusChange(
        project_id=project.id,
        from_status=project.status,
        to_status=to_status.value,
        effective_on=effective_on,
        note=note,
        changed_by=by,
        changed_at=now,
    )
    session.add(change)
    events.publish(
        session,
        ProjectStatusChanged(
            project_id=project.id,
            area_code=project.area_code,
            from_status=ProjectStatus(project.status),
            to_status=to_status,
            effective_on=effective_on,
            changed_by=by,
        ),
    )
    project.status, project.status_changed_at = to_status.value, now
    await session.flush()
    return change


async def history_page(
    session: AsyncSession, project: Project, *, after: tuple[date, datetime, UUID] | None, limit: int
) -> list[ProjectStatusChange]:
    """The project's steps, the first first: by the day each took effect (never before the one it follows), then
    by when it was recorded."""
    stmt = select(ProjectStatusChange).where(col(ProjectStatusChange.project_id) == project.id)
    order = [col(ProjectStatusChange.effective_on), col(ProjectStatusChange.changed_at), col(ProjectStatusChange.id)]
    return list((await session.scalars(keyset(stmt, order, after, limit=limit))).all())

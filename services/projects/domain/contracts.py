"""A project's insurance policies (项目保险) and maintenance contracts (运维合同). Whether one has expired is judged
on the day it is read; the scheduled checks report an expired one as a finding."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects.domain.dates import refused
from services.projects.models import Project, ProjectContract
from services.projects.rules import lifecycle
from services.projects.rules.vocabulary import ProjectStatus
from services.projects.schemas.lifecycle import ContractCreate
from shared.auth import Principal
from shared.db import keyset

# A closed project takes out no new contract.
CONTRACTING = frozenset(ProjectStatus) - {ProjectStatus.CLOSED}


async def record_contract(
    session: AsyncSession, project: Project, data: ContractCreate, *, actor: Principal, now: datetime
) -> ProjectContract:
    """Keep a contract of the project with its cost and its term."""
    if data.expires_on <= data.starts_on:
        raise refused("expires_on", "a contract expires after it starts", "expires_before_start")
    lifecycle.ensure_status(project.status, CONTRACTING, doing="take out a contract")
    contract = ProjectContract(
        **data.model_dump(exclude={"kind"}),
        kind=data.kind.value,
        project_id=project.id,
        recorded_by=actor.subject,
        recorded_at=now,
    )
    session.add(contract)
    await session.flush()
    return contract


async def contracts_page(
    session: AsyncSession, project: Project, *, after: tuple[date, UUID] | None, limit: int
) -> list[ProjectContract]:
    """The project's contracts, the first to expire first."""
    stmt = select(ProjectContract).where(col(ProjectContract.project_id) == project.id)
    order = [col(ProjectContract.expires_on), col(ProjectContract.id)]
    return list((await session.scalars(keyset(stmt, order, after, limit=limit))).all())

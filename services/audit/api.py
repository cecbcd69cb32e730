"""HTTP routes of the audit service."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from sqlalchemy import Select, select
from sqlmodel import col

from services.audit.models import DisciplineReferral, Finding, RectificationTask
from services.audit.schemas import DisciplineReferralRead, FindingRead, RectificationTaskRead
from shared.auth import Principal, Role, require_roles
from shared.errors import NotFound
from shared.http import Transaction

router = APIRouter(tags=["audit"])

Reader = Annotated[
    Principal,
    Depends(
        require_roles(
            Role.DISTRICT_OFFICE,
            Role.TOWNSHIP_OFFICE,
            Role.INSPECTOR,
            Role.AUDITOR,
            Role.DISCIPLINE_COMMISSION,
            Role.SERVICE,
        )
    ),
]
CommissionReader = Annotated[
    Principal, Depends(require_roles(Role.DISCIPLINE_COMMISSION, Role.DISTRICT_OFFICE, Role.AUDITOR))
]
Limit = Annotated[int, Query(ge=1, le=500)]


def _in_reach(stmt: Select[tuple[Finding]], actor: Principal) -> Select[tuple[Finding]]:
    if actor.is_area_scoped:
        return stmt.where(col(Finding.area_code).startswith(actor.area or "\0"))
    return stmt


@router.get("/findings")
async def list_findings(
    session: Transaction, actor: Reader, subject_id: str | None = None, limit: Limit = 100
) -> list[FindingRead]:
    """Findings, newest first, within the caller's area."""
    stmt = _in_reach(select(Finding), actor).order_by(col(Finding.opened_at).desc()).limit(limit)
    if subject_id:
        stmt = stmt.where(col(Finding.subject_id) == subject_id)
    return [FindingRead(**f.model_dump()) for f in (await session.scalars(stmt)).all()]


@router.get("/findings/{finding_id}")
async def get_finding(finding_id: UUID, session: Transaction, actor: Reader) -> FindingRead:
    finding = await session.get(Finding, finding_id)
    if finding is None:
        raise NotFound("No finding has this id.")
    actor.ensure_reach(finding.area_code)
    return FindingRead(**finding.model_dump())


@router.get("/rectification-tasks")
async def list_tasks(
    session: Transaction, actor: Reader, finding_id: UUID | None = None, limit: Limit = 100
) -> list[RectificationTaskRead]:
    """Rectification tasks (整改任务) within the caller's area, soonest deadline first."""
    stmt = (
        select(RectificationTask)
        .join(Finding, col(Finding.id) == col(RectificationTask.finding_id))
        .order_by(col(RectificationTask.deadline))
        .limit(limit)
    )
    if actor.is_area_scoped:
        stmt = stmt.where(col(Finding.area_code).startswith(actor.area or "\0"))
    if finding_id:
        stmt = stmt.where(col(RectificationTask.finding_id) == finding_id)
    return [RectificationTaskRead(**t.model_dump()) for t in (await session.scalars(stmt)).all()]


@router.get("/referrals")
async def list_referrals(
    session: Transaction, _: CommissionReader, finding_id: UUID | None = None, limit: Limit = 100
) -> list[DisciplineReferralRead]:
    """Leads handed to the discipline commission (线索移交), newest first."""
    stmt = select(DisciplineReferral).order_by(col(DisciplineReferral.referred_at).desc()).limit(limit)
    if finding_id:
        stmt = stmt.where(col(DisciplineReferral.finding_id) == finding_id)
    return [DisciplineReferralRead(**r.model_dump()) for r in (await session.scalars(stmt)).all()]

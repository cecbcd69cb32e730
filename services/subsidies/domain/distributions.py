"""Project income (收益) received from `projects.events` and shared out among its township's poor households by
members (差异化分配); an income that finds no household yet waits for the finance office."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.subsidies import events
from services.subsidies.models import HouseholdFacts, IncomeAllocation, IncomeReceipt, IncomeStatus, ProjectArea
from services.subsidies.rules.distribution import allocate_by_members
from shared.areas import township_of
from shared.contracts.projects import ProjectIncomeRecorded
from shared.contracts.subsidies import ProjectIncomeAllocated
from shared.db import keyset
from shared.errors import NotFound, RuleViolation

ALREADY_DISTRIBUTED = "This income is already distributed."


async def note_project_area(session: AsyncSession, *, project_id: UUID, area_code: str) -> None:
    """Remember where a project is, so its income goes to the households of its township."""
    project = await session.get(ProjectArea, project_id)
    if project is None:
        session.add(ProjectArea(project_id=project_id, area_code=area_code))
        return
    project.area_code = area_code


async def distribute_income(
    session: AsyncSession, income: ProjectIncomeRecorded, *, now: datetime
) -> list[IncomeAllocation]:
    """Record a project's income and share it among its township's households by members.

    Every income is kept: one that finds no household of its township stays `undistributed`, listed for
    the finance office, and is shared out when it is re-sent or distributed by hand once households are known.
    """
    receipt = await session.get(IncomeReceipt, income.income_id, with_for_update=True)
    if receipt is None:
        receipt = IncomeReceipt(
            income_id=income.income_id,
            project_id=income.project_id,
            period=income.period,
            amount_fen=income.amount_fen,
            status=IncomeStatus.UNDISTRIBUTED,
            received_at=now,
        )
        session.add(receipt)
    elif receipt.status == IncomeStatus.DISTRIBUTED:
        return []
    return await _share_out(session, receipt, now=now)


async def distribute_pending_income(session: AsyncSession, income_id: UUID, *, now: datetime) -> IncomeReceipt:
    """Share out an income that found no household when it arrived, now that its township has some."""
    receipt = await session.get(IncomeReceipt, income_id, with_for_update=True)
    if receipt is None:
        raise NotFound("No project income with this id was received.")
    if receipt.status == IncomeStatus.DISTRIBUTED:
        raise RuleViolation(ALREADY_DISTRIBUTED)
    if not await _share_out(session, receipt, now=now):
        raise RuleViolation("No registered household of the project's township is known yet.")
    try:
        await session.flush()
    except IntegrityError as exc:  # SQLite locks no row: a concurrent distribution wrote the same shares first
        raise RuleViolation(ALREADY_DISTRIBUTED) from exc
    return receipt


async def _share_out(session: AsyncSession, receipt: IncomeReceipt, *, now: datetime) -> list[IncomeAllocation]:
    """Allocate the income to the township's households by members and publish each share."""
    project = await session.get(ProjectArea, receipt.project_id)
    if project is None:
        raise NotFound("Income arrived for a project whose registration was never received.")
    members = await _members_in(session, township_of(project.area_code))
    shares = allocate_by_members(receipt.amount_fen, members)
    allocations = [
        IncomeAllocation(
            income_id=receipt.income_id,
            project_id=receipt.project_id,
            household_id=hid,
            period=receipt.period,
            amount_fen=fen,
            member_count=members[hid],
            allocated_at=now,
        )
        for hid, fen in sorted(shares.items(), key=lambda share: str(share[0]))
        if fen > 0
    ]
    if allocations:
        receipt.status, receipt.household_count, receipt.distributed_at = (
            IncomeStatus.DISTRIBUTED,
            len(allocations),
            now,
        )
    session.add_all(allocations)
    for allocation in allocations:
        events.publish(
            session,
            ProjectIncomeAllocated(
                household_id=allocation.household_id,
                allocation_id=allocation.id,
                project_id=allocation.project_id,
                income_id=allocation.income_id,
                amount_fen=allocation.amount_fen,
                period=allocation.period,
            ),
        )
    return allocations


async def _members_in(session: AsyncSession, area_prefix: str) -> dict[UUID, int]:
    """Member counts of the registered households within an area."""
    rows = await session.scalars(select(HouseholdFacts).where(col(HouseholdFacts.area_code).startswith(area_prefix)))
    return {h.household_id: h.member_count for h in rows.all()}


async def list_allocations(
    session: AsyncSession,
    *,
    household_id: UUID | None,
    income_id: UUID | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[IncomeAllocation]:
    """Shares of project income, the newest first, by household or by income."""
    stmt = select(IncomeAllocation)
    if household_id is not None:
        stmt = stmt.where(col(IncomeAllocation.household_id) == household_id)
    if income_id is not None:
        stmt = stmt.where(col(IncomeAllocation.income_id) == income_id)
    stmt = keyset(
        stmt, (col(IncomeAllocation.allocated_at), col(IncomeAllocation.id)), after, limit=limit, descending=True
    )
    return list((await session.scalars(stmt)).all())


async def list_incomes(
    session: AsyncSession,
    *,
    status: IncomeStatus | None,
    project_id: UUID | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[IncomeReceipt]:
    """Project incomes received, the newest first: `undistributed` ones are waiting for the finance office."""
    stmt = select(IncomeReceipt)
    if status is not None:
        stmt = stmt.where(col(IncomeReceipt.status) == status)
    if project_id is not None:
        stmt = stmt.where(col(IncomeReceipt.project_id) == project_id)
    stmt = keyset(
        stmt, (col(IncomeReceipt.received_at), col(IncomeReceipt.income_id)), after, limit=limit, descending=True
    )
    return list((await session.scalars(stmt)).all())

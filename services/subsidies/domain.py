"""Subsidy use cases: household facts, income distribution and payments (no HTTP, no Kafka)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.subsidies.models import EligibleHousehold, IncomeAllocation, Payment, ProjectArea
from services.subsidies.rules import allocate_by_members
from services.subsidies.schemas import PaymentCreate
from shared.areas import township_of
from shared.auth import Principal
from shared.contracts.projects import ProjectIncomeRecorded
from shared.contracts.subsidies import ProjectIncomeAllocated, SubsidyPaid
from shared.errors import Conflict, InvalidInput, NotFound
from shared.messaging.outbox import record_event
from shared.timeutil import utcnow

SOURCE = "/services/subsidies"


async def note_household(session: AsyncSession, *, household_id: UUID, area_code: str, member_count: int) -> None:
    """Keep the registry facts subsidies decides from (建档立卡户: area and members)."""
    household = await session.get(EligibleHousehold, household_id)
    if household is None:
        session.add(EligibleHousehold(household_id=household_id, area_code=area_code, member_count=member_count))
        return
    household.area_code, household.member_count, household.updated_at = area_code, member_count, utcnow()


async def note_project_area(session: AsyncSession, *, project_id: UUID, area_code: str) -> None:
    """Remember where a project is, so its income goes to the households of its township."""
    project = await session.get(ProjectArea, project_id)
    if project is None:
        session.add(ProjectArea(project_id=project_id, area_code=area_code))
        return
    project.area_code = area_code


async def distribute_income(session: AsyncSession, income: ProjectIncomeRecorded) -> list[IncomeAllocation]:
    """Share a project's income (收益分配) among its township's households by members, or record nothing."""
    if await _already_distributed(session, income.income_id):
        return []
    project = await session.get(ProjectArea, income.project_id)
    if project is None:
        raise NotFound("Income arrived for a project whose registration was never received.")
    members = await _members_in(session, township_of(project.area_code))
    shares = allocate_by_members(income.amount_fen, members)
    allocations = [
        IncomeAllocation(
            income_id=income.income_id,
            project_id=income.project_id,
            household_id=hid,
            period=income.period,
            amount_fen=fen,
            member_count=members[hid],
        )
        for hid, fen in sorted(shares.items(), key=lambda share: str(share[0]))
        if fen > 0
    ]
    session.add_all(allocations)
    for allocation in allocations:
        record_event(
            session,
            ProjectIncomeAllocated(
                household_id=allocation.household_id,
                allocation_id=allocation.id,
                project_id=allocation.project_id,
                income_id=allocation.income_id,
                amount_fen=allocation.amount_fen,
            ),
            source=SOURCE,
        )
    return allocations


async def _already_distributed(session: AsyncSession, income_id: UUID) -> bool:
    found = await session.scalars(
        select(col(IncomeAllocation.id)).where(col(IncomeAllocation.income_id) == income_id).limit(1)
    )
    return found.first() is not None


async def _members_in(session: AsyncSession, area_prefix: str) -> dict[UUID, int]:
    """Member counts of the registered households within an area."""
    rows = await session.scalars(
        select(EligibleHousehold).where(col(EligibleHousehold.area_code).startswith(area_prefix))
    )
    return {h.household_id: h.member_count for h in rows.all()}


async def pay_subsidy(session: AsyncSession, data: PaymentCreate, *, actor: Principal) -> tuple[Payment, bool]:
    """Pay a subsidy exactly once per household, policy and period; returns (payment, newly paid).

    A retry with the same idempotency key and the same request returns the original payment.
    """
    earlier = await _payment_by_key(session, data.idempotency_key)
    if earlier is not None:
        if not _same_request(earlier, data):
            raise Conflict("This idempotency key was already used for a different payment.")
        return earlier, False
    household = await session.get(EligibleHousehold, data.household_id)
    if household is None:
        raise InvalidInput("The household is not a registered household (建档立卡户) known to subsidies.")
    payment = Payment(
        **data.model_dump(),
        member_count=household.member_count,
        area_code=household.area_code,
        paid_by=actor.subject,
    )
    session.add(payment)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("This subsidy is already paid to this household for this period.") from exc
    record_event(
        session,
        SubsidyPaid(
            household_id=payment.household_id,
            payment_id=payment.id,
            policy_code=payment.policy_code,
            period=payment.period,
            amount_fen=payment.amount_fen,
        ),
        source=SOURCE,
    )
    return payment, True


def _same_request(payment: Payment, data: PaymentCreate) -> bool:
    return (payment.household_id, payment.policy_code, payment.period, payment.amount_fen) == (
        data.household_id,
        data.policy_code,
        data.period,
        data.amount_fen,
    )


async def _payment_by_key(session: AsyncSession, idempotency_key: str) -> Payment | None:
    rows = await session.scalars(select(Payment).where(col(Payment.idempotency_key) == idempotency_key))
    return rows.first()


async def get_payment(session: AsyncSession, payment_id: UUID) -> Payment:
    """A payment, or NotFound."""
    payment = await session.get(Payment, payment_id)
    if payment is None:
        raise NotFound("No payment has this id.")
    return payment


async def list_payments(session: AsyncSession, *, household_id: UUID | None, limit: int) -> list[Payment]:
    """Payments, newest first, optionally of one household."""
    stmt = select(Payment).order_by(col(Payment.paid_at).desc()).limit(limit)
    if household_id is not None:
        stmt = stmt.where(col(Payment.household_id) == household_id)
    return list((await session.scalars(stmt)).all())


async def list_allocations(
    session: AsyncSession, *, household_id: UUID | None, income_id: UUID | None, limit: int
) -> list[IncomeAllocation]:
    """Shares of project income (收益分配), newest first, by household or by income."""
    stmt = select(IncomeAllocation).order_by(col(IncomeAllocation.allocated_at).desc()).limit(limit)
    if household_id is not None:
        stmt = stmt.where(col(IncomeAllocation.household_id) == household_id)
    if income_id is not None:
        stmt = stmt.where(col(IncomeAllocation.income_id) == income_id)
    return list((await session.scalars(stmt)).all())

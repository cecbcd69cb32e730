"""Subsidy use cases: household facts, income distribution and payments (no HTTP, no Kafka)."""

from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.subsidies.models import (
    AddedMember,
    EligibleHousehold,
    IncomeAllocation,
    IncomeReceipt,
    IncomeStatus,
    Payment,
    ProjectArea,
)
from services.subsidies.rules import allocate_by_members
from services.subsidies.schemas import PaymentCreate
from shared.areas import township_of
from shared.auth import Principal
from shared.contracts.projects import ProjectIncomeRecorded
from shared.contracts.subsidies import ProjectIncomeAllocated, SubsidyPaid
from shared.errors import Conflict, InvalidInput, NotFound, RuleViolation
from shared.messaging.outbox import record_event
from shared.timeutil import utcnow

SOURCE = "/services/subsidies"


async def note_household(session: AsyncSession, *, household_id: UUID, area_code: str, member_count: int) -> None:
    """Keep the registry facts subsidies decides from (建档立卡户: area and members)."""
    if await session.get(EligibleHousehold, household_id) is not None:
        return  # a registration re-sent: the moves and members since are this household's facts, not the first ones
    session.add(EligibleHousehold(household_id=household_id, area_code=area_code, member_count=member_count))


async def move_household(session: AsyncSession, *, household_id: UUID, area_code: str) -> None:
    """The household moved to another village (HouseholdUpdated carries its area whatever changed)."""
    household = await known_household(session, household_id)
    if household.area_code != area_code:
        household.area_code, household.updated_at = area_code, utcnow()


async def add_member(session: AsyncSession, *, household_id: UUID, member_id: UUID) -> None:
    """Count a member who joined a registered household, once however often the event is re-sent."""
    household = await known_household(session, household_id)
    if await session.get(AddedMember, member_id) is not None:
        return
    session.add(AddedMember(member_id=member_id, household_id=household_id))
    household.member_count, household.updated_at = household.member_count + 1, utcnow()


async def known_household(session: AsyncSession, household_id: UUID) -> EligibleHousehold:
    """The registered household, or NotFound: its events must follow its registration (retried, then dead-lettered)."""
    household = await session.get(EligibleHousehold, household_id)
    if household is None:
        raise NotFound("A household event arrived for a household whose registration was never received.")
    return household


async def note_project_area(session: AsyncSession, *, project_id: UUID, area_code: str) -> None:
    """Remember where a project is, so its income goes to the households of its township."""
    project = await session.get(ProjectArea, project_id)
    if project is None:
        session.add(ProjectArea(project_id=project_id, area_code=area_code))
        return
    project.area_code = area_code


async def distribute_income(session: AsyncSession, income: ProjectIncomeRecorded) -> list[IncomeAllocation]:
    """Record a project's income and share it (收益分配) among its township's households by members.

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
        )
        session.add(receipt)
    elif receipt.status == IncomeStatus.DISTRIBUTED:
        return []
    return await _share_out(session, receipt)


ALREADY_DISTRIBUTED = "This income is already distributed."


async def distribute_pending_income(session: AsyncSession, income_id: UUID) -> IncomeReceipt:
    """Share out an income that found no household when it arrived, now that its township has some."""
    receipt = await session.get(IncomeReceipt, income_id, with_for_update=True)
    if receipt is None:
        raise NotFound("No project income with this id was received.")
    if receipt.status == IncomeStatus.DISTRIBUTED:
        raise RuleViolation(ALREADY_DISTRIBUTED)
    if not await _share_out(session, receipt):
        raise RuleViolation("No registered household of the project's township is known yet.")
    try:
        await session.flush()
    except IntegrityError as exc:  # SQLite locks no row: a concurrent distribution wrote the same shares first
        raise RuleViolation(ALREADY_DISTRIBUTED) from exc
    return receipt


async def _share_out(session: AsyncSession, receipt: IncomeReceipt) -> list[IncomeAllocation]:
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
        )
        for hid, fen in sorted(shares.items(), key=lambda share: str(share[0]))
        if fen > 0
    ]
    if allocations:
        receipt.status, receipt.household_count, receipt.distributed_at = (
            IncomeStatus.DISTRIBUTED,
            len(allocations),
            utcnow(),
        )
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


async def _members_in(session: AsyncSession, area_prefix: str) -> dict[UUID, int]:
    """Member counts of the registered households within an area."""
    rows = await session.scalars(
        select(EligibleHousehold).where(col(EligibleHousehold.area_code).startswith(area_prefix))
    )
    return {h.household_id: h.member_count for h in rows.all()}


async def pay_subsidy(
    session: AsyncSession, data: PaymentCreate, *, actor: Principal, policies: Collection[str]
) -> tuple[Payment, bool]:
    """Pay a subsidy of the policy catalogue exactly once per household, policy and period.

    Returns (payment, newly paid): a retry with the same idempotency key and request returns the original.
    """
    ensure_known_policy(data.policy_code, policies)
    earlier = await _payment_by_key(session, data.idempotency_key)
    if earlier is not None:
        return _replayed(earlier, data), False
    household = await session.get(EligibleHousehold, data.household_id)
    if household is None:
        raise InvalidInput("The household is not a registered household (建档立卡户) known to subsidies.")
    payment = Payment(
        **data.model_dump(),
        member_count=household.member_count,
        area_code=household.area_code,
        paid_by=actor.subject,
    )
    try:
        # A savepoint, so a concurrent request that inserted first leaves this transaction usable to look it up.
        async with session.begin_nested():
            session.add(payment)
            await session.flush()
    except IntegrityError as exc:
        return await _paid_concurrently(session, data, exc), False
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


async def _paid_concurrently(session: AsyncSession, data: PaymentCreate, exc: IntegrityError) -> Payment:
    """Another request committed first: a retry of it gets the original; anything else is a conflict."""
    earlier = await _payment_by_key(session, data.idempotency_key)
    if earlier is None:
        raise Conflict("This subsidy is already paid to this household for this period.") from exc
    return _replayed(earlier, data)


def _replayed(earlier: Payment, data: PaymentCreate) -> Payment:
    """The payment an idempotency key already made, if `data` asks for that same payment."""
    if not _same_request(earlier, data):
        raise Conflict("This idempotency key was already used for a different payment.")
    return earlier


def ensure_known_policy(policy_code: str, policies: Collection[str]) -> None:
    """InvalidInput naming `body.policy_code` unless the policy is in the catalogue."""
    if policy_code not in policies:
        raise InvalidInput(
            "The policy code is not in the subsidy policy catalogue (政策目录).",
            errors=[
                {"field": "body.policy_code", "message": "not a policy of the catalogue", "code": "unknown_policy"}
            ],
        )


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


async def list_incomes(
    session: AsyncSession, *, status: IncomeStatus | None, project_id: UUID | None, limit: int
) -> list[IncomeReceipt]:
    """Project incomes received, newest first: `undistributed` ones are waiting for the finance office."""
    stmt = select(IncomeReceipt).order_by(col(IncomeReceipt.received_at).desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(col(IncomeReceipt.status) == status)
    if project_id is not None:
        stmt = stmt.where(col(IncomeReceipt.project_id) == project_id)
    return list((await session.scalars(stmt)).all())

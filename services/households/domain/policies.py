"""Social assistance and health facts departments report: 低保/特困 status and hospital costs (个人自付)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.domain import history, monitoring
from services.households.events import publish
from services.households.models import Household, MedicalExpense, Member
from services.households.rules.monitoring import medical_flag_due
from shared.contracts.households import HospitalCostRecorded, MinimumAllowance, MinimumAllowanceChanged, RiskKind


def set_minimum_allowance(
    session: AsyncSession,
    household: Household,
    status: MinimumAllowance,
    *,
    effective_on: date,
    actor: str,
    now: datetime,
) -> bool:
    """Set the household's minimum-allowance status (低保 / 特困供养); False when it already had it."""
    if household.minimum_allowance == status:
        return False
    before = household.minimum_allowance
    household.minimum_allowance = status
    session.add(household)
    changes = {"minimum_allowance": [before, status], "effective_on": effective_on}
    history.note(session, household.id, actor=actor, action="minimum_allowance.changed", changes=changes, now=now)
    publish(session, MinimumAllowanceChanged(household_id=household.id, status=status, effective_on=effective_on))
    return True


async def _year_total(session: AsyncSession, household: Household, year: int) -> int:
    stmt = select(func.coalesce(func.sum(MedicalExpense.amount_fen), 0)).where(
        col(MedicalExpense.household_id) == household.id,
        col(MedicalExpense.occurred_on) >= date(year, 1, 1),
        col(MedicalExpense.occurred_on) <= date(year, 12, 31),
    )
    return int(await session.scalar(stmt) or 0)


async def _same_expense(
    session: AsyncSession, member: Member, amount_fen: int, occurred_on: date
) -> MedicalExpense | None:
    same = select(MedicalExpense).where(
        col(MedicalExpense.member_id) == member.id,
        col(MedicalExpense.occurred_on) == occurred_on,
        col(MedicalExpense.amount_fen) == amount_fen,
    )
    return (await session.scalars(same)).first()


async def record_hospital_cost(
    session: AsyncSession,
    household: Household,
    member: Member,
    *,
    amount_fen: int,
    occurred_on: date,
    actor: str,
    threshold_fen: int,
    now: datetime,
    today: date,
) -> MedicalExpense:
    """Record an out-of-pocket cost at `now` (the same one again is a no-op); the household's yearly total crossing
    the threshold flags relapse risk."""
    if (existing := await _same_expense(session, member, amount_fen, occurred_on)) is not None:
        return existing
    before = await _year_total(session, household, occurred_on.year)
    expense = MedicalExpense(
        household_id=household.id, member_id=member.id, amount_fen=amount_fen, occurred_on=occurred_on, recorded_at=now
    )
    session.add(expense)
    changes = {"member_id": member.id, "amount_fen": amount_fen, "occurred_on": occurred_on}
    history.note(session, household.id, actor=actor, action="hospital_cost.recorded", changes=changes, now=now)
    cost = HospitalCostRecorded(
        household_id=household.id,
        member_id=member.id,
        expense_id=expense.id,
        amount_fen=amount_fen,
        occurred_on=occurred_on,
    )
    publish(session, cost)
    if medical_flag_due(before, amount_fen, threshold_fen):
        total = before + amount_fen
        detail = f"Out-of-pocket medical costs reached {total} fen in {occurred_on.year}."
        kind = RiskKind.LARGE_MEDICAL_EXPENSE
        await monitoring.raise_flag(
            session,
            household,
            kind=kind,
            detail=detail,
            on=occurred_on,
            now=now,
            today=today,
            actor=actor,
            amount_fen=total,
        )
    return expense

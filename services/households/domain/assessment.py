"""Reading a household against the exit standard: its facts from the database, judged by `guarantees`.

A year's income is what officers recorded plus what reached the household from the other services (transfer
receipts: subsidies paid, project-income shares, public-welfare posts' allowances and workshops' wages), and it is
divided among the members living then: a member whose death is
recorded (死亡注销) no longer counts, nor do their schooling and medical cover.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from sqlalchemy import ColumnElement, Subquery, func, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.models import Household, IncomeRecord, Member, PovertyLine, TransferReceipt
from services.households.rules.guarantees import Gap, HouseholdFacts, Line, MemberFacts, gaps, per_capita_fen
from services.households.rules.vocabulary import TransferKind


@dataclass(frozen=True)
class Income:
    """A household's income for a year, by where it came from, in fen."""

    recorded_fen: int  # income records officers entered
    transfer_fen: int  # subsidies paid (转移性收入), less what was reversed or recovered
    asset_fen: int  # project-income shares (资产收益), less what was reversed or recovered
    wage_fen: int  # public-welfare posts' allowances and workshops' wages (工资性收入), less what was taken back

    @property
    def total_fen(self) -> int:
        return self.recorded_fen + self.transfer_fen + self.asset_fen + self.wage_fen


@dataclass(frozen=True)
class Assessment:
    """A household against the standard for one income year."""

    year: int
    member_count: int
    income_fen: int
    line: Line | None
    gaps: list[Gap]

    @property
    def per_capita_income_fen(self) -> int:
        return per_capita_fen(self.income_fen, self.member_count)


async def poverty_line(session: AsyncSession, year: int) -> Line | None:
    """The year's poverty line and monitoring margin, if the district has set them."""
    row = await session.get(PovertyLine, year)
    return Line(row.line_fen, row.monitoring_margin_fen) if row else None


def living_on(on: date) -> ColumnElement[bool]:
    """Members alive on `on`: no death recorded, or one on that day or later (the day of death still counts)."""
    return or_(col(Member.died_on).is_(None), col(Member.died_on) >= on)


async def income_of(session: AsyncSession, household_id: UUID, year: int) -> Income:
    """The household's income for a year: recorded, and received from the other services, by kind."""
    recorded = select(func.coalesce(func.sum(IncomeRecord.amount_fen), 0)).where(
        col(IncomeRecord.household_id) == household_id, col(IncomeRecord.year) == year
    )
    received = (
        select(col(TransferReceipt.kind), func.sum(TransferReceipt.counted_fen))
        .where(col(TransferReceipt.household_id) == household_id, col(TransferReceipt.year) == year)
        .group_by(col(TransferReceipt.kind))
    )
    by_kind = {kind: int(total or 0) for kind, total in (await session.execute(received)).tuples().all()}
    return Income(
        recorded_fen=int(await session.scalar(recorded) or 0),
        transfer_fen=by_kind.get(TransferKind.SUBSIDY, 0),
        asset_fen=by_kind.get(TransferKind.PROJECT_INCOME, 0),
        wage_fen=by_kind.get(TransferKind.WAGE, 0),
    )


async def income_total(session: AsyncSession, household_id: UUID, year: int) -> int:
    """The household's whole income for a year, in fen."""
    return (await income_of(session, household_id, year)).total_fen


def income_by_household(year: int) -> Subquery:
    """Each household's whole income for `year` (columns `household_id`, `total`), for queries over many."""
    parts = union_all(
        select(col(IncomeRecord.household_id), col(IncomeRecord.amount_fen).label("fen")).where(
            col(IncomeRecord.year) == year
        ),
        select(col(TransferReceipt.household_id), col(TransferReceipt.counted_fen).label("fen")).where(
            col(TransferReceipt.year) == year
        ),
    ).subquery()
    return select(parts.c.household_id, func.sum(parts.c.fen).label("total")).group_by(parts.c.household_id).subquery()


def living_by_household(on: date) -> Subquery:
    """How many members of each household are alive on `on` (columns `household_id`, `n`)."""
    stmt = select(col(Member.household_id), func.count().label("n")).where(living_on(on))
    return stmt.group_by(col(Member.household_id)).subquery()


async def member_facts(session: AsyncSession, household_id: UUID, *, on: date) -> list[MemberFacts]:
    """What the standard needs of the members alive on `on`."""
    rows = await session.scalars(select(Member).where(col(Member.household_id) == household_id, living_on(on)))
    return [MemberFacts(m.id, m.birth_date, m.enrolment, m.medical_insured) for m in rows.all()]


async def assess(session: AsyncSession, household: Household, *, year: int, on: date) -> Assessment:
    """The household's gaps against the standard, with its income for `year` and the members alive on `on`."""
    members = await member_facts(session, household.id, on=on)
    income = await income_total(session, household.id, year)
    line = await poverty_line(session, year)
    facts = HouseholdFacts(household.housing_grade, household.water_safe, members, income, line, on)
    return Assessment(year, len(members), income, line, gaps(facts))

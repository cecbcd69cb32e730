"""Reading a household against the exit standard: its facts from the database, judged by `guarantees`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.models import Household, IncomeRecord, Member, PovertyLine
from services.households.rules.guarantees import Gap, HouseholdFacts, Line, MemberFacts, gaps, per_capita_fen


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


async def income_total(session: AsyncSession, household_id: UUID, year: int) -> int:
    """The household's recorded income for a year, in fen."""
    stmt = select(func.coalesce(func.sum(IncomeRecord.amount_fen), 0)).where(
        col(IncomeRecord.household_id) == household_id, col(IncomeRecord.year) == year
    )
    return int(await session.scalar(stmt) or 0)


async def member_facts(session: AsyncSession, household_id: UUID) -> list[MemberFacts]:
    rows = await session.scalars(select(Member).where(col(Member.household_id) == household_id))
    return [MemberFacts(m.id, m.birth_date, m.enrolment, m.medical_insured) for m in rows.all()]


async def assess(session: AsyncSession, household: Household, *, year: int, on: date) -> Assessment:
    """The household's gaps against the standard, with its income for `year` and the members on `on`."""
    members = await member_facts(session, household.id)
    income = await income_total(session, household.id, year)
    line = await poverty_line(session, year)
    facts = HouseholdFacts(household.housing_grade, household.water_safe, members, income, line, on)
    return Assessment(year, len(members), income, line, gaps(facts))

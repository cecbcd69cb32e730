"""The register's part of the half-year report (半年工作总结, 一、工作成效): households and people on the roll, the
rounds of visits, housing, water, monitoring, schooling, disability, medical care and income of an area over a
period, each counted in the database (COUNT / SUM ... GROUP BY on indexed columns, never row by row); the members'
figures in one pass over the roll's members (`report_members`).

The README's "Report figures" defines every key. The roll at the period's end is the households registered by then;
its people are the members born by then and not dead before it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, func, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.domain.assessment import living_on
from services.households.domain.report_members import TOWNSHIP, UNKNOWN, MemberCounts, count_members
from services.households.models import (
    Household,
    HousingAppraisal,
    IncomeRecord,
    MedicalExpense,
    Member,
    MonitoringEpisode,
    TransferReceipt,
    Visit,
    VisitProblem,
    WaterCheck,
)
from services.households.rules.vocabulary import UNSAFE_GRADES
from shared.contracts.households import HouseholdStatus, MinimumAllowance
from shared.reporting import Figure, Unit, split, with_total
from shared.timeutil import DISTRICT_TZ

BASIS_POINTS = 10_000


@dataclass(frozen=True)
class Scope:
    """An area (a code prefix) and a period, both days included."""

    area_code: str
    start: date
    end: date

    def on_roll(self) -> tuple[ColumnElement[bool], ...]:
        """Households of the area registered by the period's end (the district's calendar)."""
        end_of_period = datetime.combine(self.end + timedelta(days=1), time(), DISTRICT_TZ)
        return col(Household.area_code).startswith(self.area_code), col(Household.registered_at) < end_of_period

    def within(self, day: Any) -> ColumnElement[bool]:
        return day.between(self.start, self.end)  # type: ignore[no-any-return]

    def living(self) -> tuple[ColumnElement[bool], ...]:
        """Members alive on the period's end and born by then."""
        return living_on(self.end), col(Member.birth_date) <= self.end

    def people(self) -> tuple[ColumnElement[bool], ...]:
        """Members of the roll alive on the period's end and born by then."""
        return *self.on_roll(), *self.living()


class _Counter:
    """Runs grouped counts (dimension value, number) for one scope."""

    def __init__(self, session: AsyncSession, scope: Scope) -> None:
        self.session, self.scope = session, scope

    async def by(self, stmt: Select[Any]) -> dict[Any, int]:
        rows = (await self.session.execute(stmt)).tuples().all()
        return {UNKNOWN if k is None else k: int(n or 0) for k, n in rows}

    async def one(self, stmt: Select[Any]) -> int:
        return int(await self.session.scalar(stmt) or 0)

    async def figure(self, key: str, unit: Unit, stmt: Select[Any]) -> Figure:
        return Figure(key=key, value=await self.one(stmt), unit=unit)

    def households(self, *conditions: ColumnElement[bool]) -> Select[Any]:
        return select(func.count(func.distinct(col(Household.id)))).where(*self.scope.on_roll(), *conditions)


STATUSES = [s.value for s in HouseholdStatus]


async def _roll(c: _Counter, members: MemberCounts) -> list[Figure]:
    households = select(col(Household.status), TOWNSHIP, func.count()).where(*c.scope.on_roll())
    by_status: dict[str, int] = defaultdict(int)
    by_township: dict[str, int] = defaultdict(int)
    for status, township, n in (await c.session.execute(households.group_by(col(Household.status), TOWNSHIP))).tuples():
        by_status[status] += n
        by_township[township] += n
    return [
        *with_total("register.households", Unit.HOUSEHOLDS, "status", by_status, STATUSES),
        *split("register.households", Unit.HOUSEHOLDS, "township", by_township),
        *with_total("register.people", Unit.PEOPLE, "status", members.people_by_status, STATUSES),
        *split("register.people", Unit.PEOPLE, "township", members.people_by_township),
    ]


async def _visits(c: _Counter, roll: int) -> list[Figure]:
    visits = select(col(Visit.round), func.count(func.distinct(col(Visit.household_id)))).join(Household)
    visits = visits.where(*c.scope.on_roll(), c.scope.within(col(Visit.visited_on))).group_by(col(Visit.round))
    per_round = await c.by(visits)
    visited = c.households(c.scope.within(col(Visit.visited_on))).join(Visit)
    problems = select(col(VisitProblem.category), func.count()).join(Visit).join(Household)
    problems = problems.where(*c.scope.on_roll(), c.scope.within(col(Visit.visited_on)))
    figures = [
        await c.figure("visits.households", Unit.HOUSEHOLDS, visited),
        *split("visits.households", Unit.HOUSEHOLDS, "round", per_round),
        *with_total("visits.problems", Unit.PROBLEMS, "category", await c.by(problems.group_by(VisitProblem.category))),
    ]
    if roll:  # coverage of an empty roll is not a rate
        rates = {r: n * BASIS_POINTS // roll for r, n in per_round.items()}
        figures += split("visits.coverage", Unit.PERCENT_BP, "round", rates)
    return figures


def _latest(model: Any, day: Any, scope: Scope) -> Subquery:
    """Each household of the roll's latest record of `model` dated by the period's end (the later recorded wins a
    tie); the roll is joined inside, so only the area's records are ranked."""
    newest = (day.desc(), col(model.recorded_at).desc())
    rank = func.row_number().over(partition_by=col(model.household_id), order_by=newest).label("rank")
    stmt = select(model, rank).join(Household, col(Household.id) == col(model.household_id))
    return stmt.where(day <= scope.end, *scope.on_roll()).subquery()


async def _housing(c: _Counter) -> list[Figure]:
    grades = list(UNSAFE_GRADES)

    async def worst_grade(day: Any) -> dict[Any, int]:  # a household once, under the worst grade of its period
        a = HousingAppraisal
        worst = select(col(a.household_id), func.max(col(a.grade)).label("grade")).join(Household)
        worst = worst.where(*c.scope.on_roll(), col(a.grade).in_(grades), c.scope.within(day))
        inner = worst.group_by(col(a.household_id)).subquery()
        return await c.by(select(inner.c.grade, func.count()).group_by(inner.c.grade))

    latest = _latest(HousingAppraisal, col(HousingAppraisal.appraised_on), c.scope)
    unrenovated = or_(latest.c.renovated_on.is_(None), latest.c.renovated_on > c.scope.end)
    outstanding = select(latest.c.grade, func.count()).join(Household, col(Household.id) == latest.c.household_id)
    outstanding = outstanding.where(*c.scope.on_roll(), latest.c.rank == 1, latest.c.grade.in_(grades), unrenovated)
    appraised = await worst_grade(col(HousingAppraisal.appraised_on))
    renovated = await worst_grade(col(HousingAppraisal.renovated_on))
    return [
        *with_total("housing.appraised", Unit.HOUSEHOLDS, "grade", appraised, grades),
        *with_total("housing.renovated", Unit.HOUSEHOLDS, "grade", renovated, grades),
        *with_total(
            "housing.outstanding", Unit.HOUSEHOLDS, "grade", await c.by(outstanding.group_by(latest.c.grade)), grades
        ),
    ]


async def _water_and_monitoring(c: _Counter) -> list[Figure]:
    checked = c.households(c.scope.within(col(WaterCheck.checked_on))).join(WaterCheck)
    latest = _latest(WaterCheck, col(WaterCheck.checked_on), c.scope)
    unsafe = c.households(latest.c.rank == 1, latest.c.safe.is_(False))
    unsafe = unsafe.join(latest, latest.c.household_id == col(Household.id))
    e = MonitoringEpisode
    still_open = or_(col(e.closed_on).is_(None), col(e.closed_on) > c.scope.end)
    monitored = c.households(col(e.opened_on) <= c.scope.end, still_open).join(e)
    opened = c.households(c.scope.within(col(e.opened_on))).join(e)
    closed = select(col(e.decision), func.count(func.distinct(col(e.household_id)))).join(Household)
    closed = closed.where(*c.scope.on_roll(), c.scope.within(col(e.closed_on))).group_by(col(e.decision))
    return [
        await c.figure("water.checked", Unit.HOUSEHOLDS, checked),
        await c.figure("water.unsafe", Unit.HOUSEHOLDS, unsafe),
        await c.figure("monitoring.households", Unit.HOUSEHOLDS, monitored),
        await c.figure("monitoring.opened", Unit.HOUSEHOLDS, opened),
        *with_total("monitoring.closed", Unit.HOUSEHOLDS, "decision", await c.by(closed)),
    ]


async def _members(c: _Counter, members: MemberCounts) -> list[Figure]:
    stays = select(func.count(), func.sum(col(MedicalExpense.amount_fen))).join(Household).where(*c.scope.on_roll())
    times, fen = (await c.session.execute(stays.where(c.scope.within(col(MedicalExpense.occurred_on))))).one()
    return [
        *with_total("schooling.students", Unit.PEOPLE, "stage", members.students_by_stage),
        *with_total("schooling.dropped_out", Unit.PEOPLE, "stage", members.dropped_out_by_stage),
        *with_total("disability.people", Unit.PEOPLE, "grade", members.disabled_by_grade),
        Figure(key="disability.certified", value=members.certified, unit=Unit.PEOPLE),
        Figure(key="medical.insured", value=members.insured, unit=Unit.PEOPLE),
        Figure(key="medical.premium_subsidised", value=members.premium_subsidised, unit=Unit.PEOPLE),
        Figure(key="medical.chronic_approved", value=members.chronic_approved, unit=Unit.PEOPLE),
        Figure(key="medical.hospital_costs", value=int(times or 0), unit=Unit.PERSON_TIMES),
        Figure(key="medical.out_of_pocket", value=int(fen or 0), unit=Unit.FEN),
    ]


def _income_of_roll(scope: Scope, year: int) -> Subquery:
    """The year's whole income of each household of the roll (`household_id`, `total`): recorded, and received
    through the other services less what was reversed or recovered, as `assessment.income_by_household` counts
    it; the roll is joined inside, so only the area's rows are summed."""
    parts = union_all(
        select(col(IncomeRecord.household_id), col(IncomeRecord.amount_fen).label("fen"))
        .join(Household)
        .where(col(IncomeRecord.year) == year, *scope.on_roll()),
        select(col(TransferReceipt.household_id), col(TransferReceipt.counted_fen).label("fen"))
        .join(Household)
        .where(col(TransferReceipt.year) == year, *scope.on_roll()),
    ).subquery()
    return select(parts.c.household_id, func.sum(parts.c.fen).label("total")).group_by(parts.c.household_id).subquery()


async def _allowance_and_income(c: _Counter) -> list[Figure]:
    allowance = select(col(Household.minimum_allowance), func.count()).where(*c.scope.on_roll())
    kinds = [MinimumAllowance.DIBAO.value, MinimumAllowance.EXTREME_POVERTY.value]
    allowance = allowance.where(col(Household.minimum_allowance).in_(kinds)).group_by(col(Household.minimum_allowance))
    year = c.scope.end.year
    income = _income_of_roll(c.scope, year)
    alive = select(col(Member.household_id), func.count().label("n")).join(Household).where(*c.scope.people())
    people = alive.group_by(col(Member.household_id)).subquery()
    held = (
        select(func.count(), func.sum(income.c.total), func.sum(people.c.n))
        .select_from(Household)
        .join(income, income.c.household_id == col(Household.id))
        .join(people, people.c.household_id == col(Household.id))
        .where(*c.scope.on_roll())
    )
    households, total, persons = (await c.session.execute(held)).one()
    figures = split("allowance.households", Unit.HOUSEHOLDS, "kind", await c.by(allowance), kinds)
    figures.append(Figure(key="income.households_held", value=households, unit=Unit.HOUSEHOLDS, by={"year": str(year)}))
    if persons:  # no income held for the year: the average is unknown, not zero
        average = int(total) // int(persons)
        figures.append(Figure(key="income.per_capita_average", value=average, unit=Unit.FEN, by={"year": str(year)}))
    return figures


async def report_figures(session: AsyncSession, scope: Scope) -> list[Figure]:
    """Every figure the register holds for the scope, in the README's order."""
    c = _Counter(session, scope)
    members = await count_members(session, scope)
    roll = await _roll(c, members)
    households = next(f.value for f in roll if f.key == "register.households" and not f.by)
    return [
        *roll,
        *await _visits(c, households),
        *await _housing(c),
        *await _water_and_monitoring(c),
        *await _members(c, members),
        *await _allowance_and_income(c),
    ]

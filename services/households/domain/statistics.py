"""Statistics per district / township / village (统计): households and people by status, guarantee and water
gaps, C/D houses outstanding and renovated, visits per round, households under monitoring.

An area is broken down one level: a district by township, a township by village, a village as itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.domain.assessment import income_by_household, living_by_household, living_on, poverty_line
from services.households.domain.register import gap_clause
from services.households.models import Household, HousingAppraisal, Member, MonitoringEpisode, Visit
from services.households.rules.guarantees import members_counted_on
from services.households.rules.vocabulary import UNSAFE_GRADES, AreaLevel

GUARANTEE_GAPS = ("housing", "water", "schooling", "medical")
K = TypeVar("K")
LEVELS = {6: (AreaLevel.DISTRICT, 9), 9: (AreaLevel.TOWNSHIP, 12), 12: (AreaLevel.VILLAGE, 12)}


@dataclass
class AreaFigures:
    """The figures of one area."""

    area_code: str
    households: int = 0
    people: int = 0
    households_by_status: dict[str, int] = field(default_factory=dict)
    people_by_status: dict[str, int] = field(default_factory=dict)
    gaps: dict[str, int] = field(default_factory=dict)
    housing_cd_outstanding: int = 0
    housing_cd_overdue: int = 0
    housing_cd_renovated: int = 0
    visits_by_round: dict[int, int] = field(default_factory=dict)
    under_monitoring: int = 0


def level_of(area_code: str) -> tuple[AreaLevel, int]:
    """The area's level and the code width its children are grouped by."""
    return LEVELS[len(area_code)]


class _Query:
    """Grouped counts within one area, keyed by the child area code."""

    def __init__(self, session: AsyncSession, area_code: str) -> None:
        self.session, self.area_code = session, area_code
        self.key = func.substr(col(Household.area_code), 1, level_of(area_code)[1])

    def in_area(self, stmt: Select[Any]) -> Select[Any]:
        return stmt.where(col(Household.area_code).startswith(self.area_code))

    async def counts(self, *conditions: ColumnElement[bool]) -> dict[str, int]:
        stmt = self.in_area(select(self.key, func.count()).select_from(Household).where(*conditions))
        return {k: n for k, n in (await self.session.execute(stmt.group_by(self.key))).tuples().all()}

    async def pairs(self, stmt: Select[Any]) -> dict[str, dict[Any, int]]:
        grouped: dict[str, dict[Any, int]] = defaultdict(dict)
        for key, sub, n in (await self.session.execute(self.in_area(stmt))).tuples().all():
            grouped[key][sub] = n
        return grouped


async def _income_gaps(q: _Query, year: int, today: date) -> dict[str, int]:
    """Households whose per-capita income for `year` (recorded and received through subsidies, among the members
    then alive) is under that year's line (none if no line is set)."""
    line = await poverty_line(q.session, year)
    if line is None:
        return {}
    income = income_by_household(year)
    people = living_by_household(members_counted_on(year, today))
    stmt = (
        select(q.key, func.count())
        .select_from(Household)
        .join(people, people.c.household_id == col(Household.id))
        .outerjoin(income, income.c.household_id == col(Household.id))
        .where(func.coalesce(income.c.total, 0) < people.c.n * line.line_fen)
    )
    return {k: n for k, n in (await q.session.execute(q.in_area(stmt).group_by(q.key))).tuples().all()}


async def _housing(q: _Query, today: date) -> dict[str, dict[Any, int]]:
    """Houses still unsafe (a household's latest appraisal is C/D; of those, past their deadline) and C/D
    appraisals renovated. Only the latest appraisal counts as outstanding: a D house re-appraised C is one unsafe
    house, not two, and a renovated one is followed by its A/B re-grading."""
    a = HousingAppraisal
    newest_first = (col(a.appraised_on).desc(), col(a.recorded_at).desc())  # as `housing._regrade` picks the grade
    rank = func.row_number().over(partition_by=col(a.household_id), order_by=newest_first)
    latest = select(a, rank.label("rank")).subquery()
    overdue = latest.c.renovation_due < today
    unsafe = (
        select(q.key, overdue, func.count())
        .select_from(latest)
        .join(Household, col(Household.id) == latest.c.household_id)
        .where(latest.c.rank == 1, latest.c.grade.in_(UNSAFE_GRADES), latest.c.renovated_on.is_(None))
        .group_by(q.key, overdue)
    )
    grouped: dict[str, dict[Any, int]] = defaultdict(lambda: defaultdict(int))
    for key, late, n in (await q.session.execute(q.in_area(unsafe))).tuples().all():
        grouped[key]["outstanding"] += n
        if late:
            grouped[key]["overdue"] += n
    renovated = (
        select(q.key, func.count())
        .select_from(a)
        .join(Household, col(Household.id) == col(a.household_id))
        .where(col(a.grade).in_(UNSAFE_GRADES), col(a.renovated_on).is_not(None))
        .group_by(q.key)
    )
    for key, n in (await q.session.execute(q.in_area(renovated))).tuples().all():
        grouped[key]["renovated"] += n
    return grouped


async def _people_and_status(q: _Query, at: Callable[[str], AreaFigures], today: date) -> None:
    by_status = select(q.key, col(Household.status), func.count()).select_from(Household)
    for key, counts in (await q.pairs(by_status.group_by(q.key, col(Household.status)))).items():
        at(key).households_by_status, at(key).households = counts, sum(counts.values())
    people = (
        select(q.key, col(Household.status), func.count())
        .select_from(Member)
        .join(Household, col(Household.id) == col(Member.household_id))
        .where(living_on(today))
    )
    for key, counts in (await q.pairs(people.group_by(q.key, col(Household.status)))).items():
        at(key).people_by_status, at(key).people = counts, sum(counts.values())


async def _visits_and_monitoring(q: _Query, at: Callable[[str], AreaFigures], year: int) -> None:
    visits = (
        select(q.key, col(Visit.round), func.count())
        .select_from(Visit)
        .join(Household, col(Household.id) == col(Visit.household_id))
        .where(col(Visit.visited_on).between(date(year, 1, 1), date(year, 12, 31)))  # the year's rounds (遍访)
    )
    for key, counts in (await q.pairs(visits.group_by(q.key, col(Visit.round)))).items():
        at(key).visits_by_round = counts
    monitored = (
        select(q.key, func.count(func.distinct(col(MonitoringEpisode.household_id))))
        .select_from(MonitoringEpisode)
        .join(Household, col(Household.id) == col(MonitoringEpisode.household_id))
        .where(col(MonitoringEpisode.status) == "open")
    )
    for key, n in (await q.session.execute(q.in_area(monitored).group_by(q.key))).tuples().all():
        at(key).under_monitoring = n


async def _collect(q: _Query, year: int, today: date) -> dict[str, AreaFigures]:
    figures: dict[str, AreaFigures] = {}

    def at(key: str) -> AreaFigures:
        return figures.setdefault(key, AreaFigures(area_code=key))

    await _people_and_status(q, at, today)
    for gap in GUARANTEE_GAPS:
        for key, n in (await q.counts(gap_clause(gap, today))).items():
            at(key).gaps[gap] = n
    for key, n in (await _income_gaps(q, year, today)).items():
        at(key).gaps["income"] = n
    for key, counts in (await _housing(q, today)).items():
        f = at(key)
        f.housing_cd_outstanding, f.housing_cd_renovated = counts["outstanding"], counts["renovated"]
        f.housing_cd_overdue = counts["overdue"]
    await _visits_and_monitoring(q, at, year)
    return figures


def _add(into: dict[K, int], counts: dict[K, int]) -> None:
    for k, n in counts.items():
        into[k] = into.get(k, 0) + n


def total_of(area_code: str, parts: list[AreaFigures]) -> AreaFigures:
    """The area's figures as the sum of its parts."""
    total = AreaFigures(area_code=area_code)
    for part in parts:
        total.households += part.households
        total.people += part.people
        total.housing_cd_outstanding += part.housing_cd_outstanding
        total.housing_cd_overdue += part.housing_cd_overdue
        total.housing_cd_renovated += part.housing_cd_renovated
        total.under_monitoring += part.under_monitoring
        _add(total.households_by_status, part.households_by_status)
        _add(total.people_by_status, part.people_by_status)
        _add(total.gaps, part.gaps)
        _add(total.visits_by_round, part.visits_by_round)
    return total


async def area_statistics(
    session: AsyncSession, area_code: str, *, year: int, today: date
) -> tuple[AreaFigures, list[AreaFigures]]:
    """The area's figures and its children's, ordered by area code."""
    figures = await _collect(_Query(session, area_code), year, today)
    parts = [figures[k] for k in sorted(figures)]
    return total_of(area_code, parts), parts

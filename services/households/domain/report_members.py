"""The members' figures of the register's report part, counted in one pass: the roll's people by status and
township, schooling, disability and medical insurance at the period's end, and the disability certificates and
chronic-disease approvals of the period.

They all read the same rows (the members of the roll's households), so one query reads `member` joined to
`household` once and counts each figure with an aggregate FILTER, grouped by every dimension a figure is split by
(status, township, school stage, disability grade): a province's members are scanned once instead of once per figure.
The few group rows are folded here into each figure's split. SQLite has FILTER since 3.30.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnExpressionArgument, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.models import Household, Member
from services.households.rules.vocabulary import Enrolment

if TYPE_CHECKING:
    from services.households.domain.report import Scope

TOWNSHIP = func.substr(col(Household.area_code), 1, 9)
UNKNOWN = "unknown"  # a member's fact not held (an enrolled pupil without a stage, a disability without a grade)


def _add(split: dict[Any, int], value: Any, n: int) -> None:
    if n:  # a split lists the values that occur, as a GROUP BY of the counted rows would
        key = UNKNOWN if value is None else value
        split[key] = split.get(key, 0) + n


@dataclass
class MemberCounts:
    """The members' figures of a scope: splits by dimension value, and plain totals."""

    people_by_status: dict[str, int] = field(default_factory=dict)
    people_by_township: dict[str, int] = field(default_factory=dict)
    students_by_stage: dict[str, int] = field(default_factory=dict)
    dropped_out_by_stage: dict[str, int] = field(default_factory=dict)
    disabled_by_grade: dict[Any, int] = field(default_factory=dict)
    certified: int = 0
    insured: int = 0
    premium_subsidised: int = 0
    chronic_approved: int = 0

    def add(self, status: str, township: str, stage: str | None, grade: int | None, *counts: int) -> None:
        """One group row of the tally: its dimension values, then its counts in `_tally`'s order."""
        people, students, dropped, disabled, certified, insured, subsidised, chronic = counts
        _add(self.people_by_status, status, people)
        _add(self.people_by_township, township, people)
        _add(self.students_by_stage, stage, students)
        _add(self.dropped_out_by_stage, stage, dropped)
        _add(self.disabled_by_grade, grade, disabled)
        self.certified += certified
        self.insured += insured
        self.premium_subsidised += subsidised
        self.chronic_approved += chronic


def _tally(scope: Scope) -> Select[Any]:
    """The roll's members grouped by the figures' dimensions, each figure a count FILTERed by its definition."""
    m = Member
    alive = and_(*scope.living())  # the roll's people; the period's certificates and approvals count every member

    def people(*conditions: ColumnExpressionArgument[bool]) -> Any:
        return func.count().filter(and_(alive, *conditions))

    certified_by_end = or_(col(m.disability_certified_on).is_(None), col(m.disability_certified_on) <= scope.end)
    counts = (
        people(),
        people(col(m.enrolment) == Enrolment.ENROLLED),
        people(col(m.enrolment) == Enrolment.DROPPED_OUT),
        people(col(m.disability_type).is_not(None), certified_by_end),
        func.count().filter(scope.within(col(m.disability_certified_on))),
        people(col(m.medical_insured)),
        people(col(m.medical_insured), col(m.premium_subsidised)),
        func.count().filter(scope.within(col(m.chronic_disease_approved_on))),
    )
    dims = (col(Household.status), TOWNSHIP, col(m.school_stage), col(m.disability_grade))
    return select(*dims, *counts).select_from(m).join(Household).where(*scope.on_roll()).group_by(*dims)


async def count_members(session: AsyncSession, scope: Scope) -> MemberCounts:
    """Every members' figure of the scope, from one query."""
    counts = MemberCounts()
    for status, township, stage, grade, *n in (await session.execute(_tally(scope))).tuples():
        counts.add(status, township, stage, grade, *(int(x or 0) for x in n))
    return counts

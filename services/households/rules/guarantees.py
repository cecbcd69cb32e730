"""The exit standard as plain rules (两不愁三保障): income above the line, schooling, basic medical
insurance, safe housing, and safe drinking water. No I/O: the facts come in, the gaps go out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from services.households.rules.vocabulary import SAFE_GRADES, Enrolment
from shared.contracts.households import ProblemCategory

# 义务教育 (compulsory education): children aged 6 to 15 must be at school (控辍保学).
SCHOOL_AGE_FROM = 6
SCHOOL_AGE_TO = 15
_AT_SCHOOL = frozenset({Enrolment.ENROLLED.value, Enrolment.EXEMPT.value})


@dataclass(frozen=True)
class MemberFacts:
    """What the standard needs of one member."""

    member_id: UUID
    birth_date: date
    enrolment: str | None
    medical_insured: bool


@dataclass(frozen=True)
class Line:
    """A year's poverty line and relapse-monitoring margin, per person, in fen."""

    line_fen: int
    margin_fen: int

    @property
    def monitoring_threshold_fen(self) -> int:
        """Per-capita income under this flags relapse risk (line + margin)."""
        return self.line_fen + self.margin_fen


@dataclass(frozen=True)
class HouseholdFacts:
    """What the standard needs of one household, on one day, for one income year."""

    housing_grade: str | None
    water_safe: bool | None
    members: Sequence[MemberFacts]
    income_fen: int
    line: Line | None
    on: date


@dataclass(frozen=True)
class Gap:
    """One unmet part of the standard; `member_id` says whose when it is a member's."""

    code: str
    category: ProblemCategory
    member_id: UUID | None = None


def age_on(birth_date: date, on: date) -> int:
    """Whole years of age on a day."""
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def is_school_age(birth_date: date, on: date) -> bool:
    return SCHOOL_AGE_FROM <= age_on(birth_date, on) <= SCHOOL_AGE_TO


def members_counted_on(year: int, today: date) -> date:
    """The day whose living members a year's per-capita income is divided among: the year's last day, or today
    while the year runs (a member who died before then no longer counts, 死亡注销)."""
    return min(date(year, 12, 31), today)


def per_capita_fen(income_fen: int, member_count: int) -> int:
    """Per-capita income (人均收入), rounded down to the fen; 0 for a household without members."""
    return income_fen // member_count if member_count else 0


def housing_gaps(grade: str | None) -> list[Gap]:
    """住房安全: the latest appraisal must be A or B."""
    if grade is None:
        return [Gap("housing_not_appraised", ProblemCategory.HOUSING)]
    return [] if grade in SAFE_GRADES else [Gap("housing_unsafe", ProblemCategory.HOUSING)]


def water_gaps(water_safe: bool | None) -> list[Gap]:
    """安全饮水: the latest check must have found no problem."""
    if water_safe is None:
        return [Gap("water_not_checked", ProblemCategory.WATER)]
    return [] if water_safe else [Gap("unsafe_water", ProblemCategory.WATER)]


def schooling_gaps(members: Sequence[MemberFacts], on: date) -> list[Gap]:
    """控辍保学: every member of compulsory-school age enrolled (or exempt); a dropout is a gap."""
    gaps = []
    for m in members:
        if is_school_age(m.birth_date, on) and m.enrolment not in _AT_SCHOOL:
            code = "school_dropout" if m.enrolment == Enrolment.DROPPED_OUT else "schooling_unknown"
            gaps.append(Gap(code, ProblemCategory.SCHOOLING, m.member_id))
    return gaps


def medical_gaps(members: Sequence[MemberFacts]) -> list[Gap]:
    """基本医疗: every member enrolled in basic medical insurance."""
    return [Gap("no_medical_insurance", ProblemCategory.MEDICAL, m.member_id) for m in members if not m.medical_insured]


def income_gaps(income_fen: int, member_count: int, line: Line | None) -> list[Gap]:
    """Per-capita income at or above the year's line; no line set is a gap too (nothing to measure by)."""
    if line is None:
        return [Gap("no_poverty_line", ProblemCategory.INCOME)]
    if per_capita_fen(income_fen, member_count) < line.line_fen:
        return [Gap("income_below_line", ProblemCategory.INCOME)]
    return []


def gaps(facts: HouseholdFacts) -> list[Gap]:
    """Every unmet part of the exit standard; empty means the household meets it."""
    return [
        *income_gaps(facts.income_fen, len(facts.members), facts.line),
        *schooling_gaps(facts.members, facts.on),
        *medical_gaps(facts.members),
        *housing_gaps(facts.housing_grade),
        *water_gaps(facts.water_safe),
    ]

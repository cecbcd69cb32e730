"""The household categories a distribution plan may weigh (差异化分配), judged on the roll's members on one day.

- weak labour (弱劳力/无劳力): no living member aged 16-59 who is free of a grade 1-2 (severe) disability;
- disabled (残疾): a living member holds a disability certificate, whatever its grade;
- elderly alone (独居老人): the household has one living member, aged 60 or more.

A member is judged only on what the roll knows: one whose birth date has not arrived yet is neither of working age
nor elderly. A household none of whose living members is known yet is in no category (there is nothing to judge).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from services.projects.rules.vocabulary import HouseholdCategory

WORKING_AGES = range(16, 60)  # 16 to 59 inclusive
ELDERLY_AGE = 60
SEVERE_GRADES = frozenset({1, 2})  # 一级, 二级: no labour expected of the member


@dataclass(frozen=True)
class MemberFacts:
    """What the roll knows of a member (`RollMember`)."""

    birth_date: date | None = None
    disability_grade: int | None = None
    died_on: date | None = None


def age_on(birth_date: date, on: date) -> int:
    """Full years of age on a day (one born on 29 February turns a year older on 1 March in a common year)."""
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def is_living(member: MemberFacts, on: date) -> bool:
    """Alive on the day: not dead, or dead only after it."""
    return member.died_on is None or member.died_on > on


def is_labour(member: MemberFacts, on: date) -> bool:
    """A member of working age (16-59) without a severe (grade 1-2) disability."""
    if member.birth_date is None:
        return False
    return age_on(member.birth_date, on) in WORKING_AGES and member.disability_grade not in SEVERE_GRADES


def categories_of(members: Sequence[MemberFacts], *, living_members: int, on: date) -> frozenset[HouseholdCategory]:
    """The categories of a household on a day. `living_members` is the roll's count of the household's living
    members (it may know of members whose announcement has not arrived yet)."""
    living = [m for m in members if is_living(m, on)]
    if not living:
        return frozenset()
    found = set()
    if not any(is_labour(m, on) for m in living):
        found.add(HouseholdCategory.WEAK_LABOUR)
    if any(m.disability_grade is not None for m in living):
        found.add(HouseholdCategory.DISABLED)
    [only, *others] = living
    if living_members == 1 and not others and only.birth_date and age_on(only.birth_date, on) >= ELDERLY_AGE:
        found.add(HouseholdCategory.ELDERLY_ALONE)
    return frozenset(found)

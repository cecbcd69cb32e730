"""The demo district's population (人口规格): 3,452 synthetic households in the report's five townships, shaped so
that the programmes' own rules make the report's figures for 2020-01-01 .. 2020-06-30, and what happens to them in
that half year (appraisals, visits, approvals, monitoring). Pure data: nothing here calls a service.

Every name is made up and every ID number synthetic (region 371523, the member's birth date, a sequence from 700,
the GB 11643 check digit): valid for the register, no real person's. A smaller district (`households` below 3,452)
scales every count down in proportion, for quick tests; the loop check builds the full one.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import cached_property

from shared.local.demo_projects_stock import GENGDIAN, TOWNSHIP_CODES
from shared.personal_data import check_digit

FULL = 3452  # 全区建档立卡贫困户 (the report's)
VILLAGES_PER_TOWNSHIP = 20
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
GIVEN = ("秀英", "桂兰", "玉珍", "凤英", "淑珍", "建国", "德明", "志强", "海燕", "春梅", "文华", "金凤", "永军", "丽娟")
STAGES = ("preschool", "primary", "primary", "junior_secondary", "senior_secondary")
BORN_IN_STAGE = {"preschool": 2015, "primary": 2010, "junior_secondary": 2006, "senior_secondary": 2004}
DISABILITIES = ("physical", "visual", "hearing", "intellectual", "mental", "speech", "multiple")


@dataclass(frozen=True)
class Targets:
    """The report's figures the population is built to: the seed's numbers, or a district scaled down."""

    households: int = FULL
    dibao_households: int = 279  # 新纳入低保 279 户
    dibao_people: int = 623  # 623 人
    extreme_people: int = 174  # 新纳入特困供养 174 人
    monitored: int = 35  # 临时救助 35 人次: households under monitoring on 2020-06-01
    monitored_at_end: int = 23  # 23 户即时帮扶户 still monitored on 2020-06-30
    vocational: int = 105  # 雨露计划 105 名
    students: int = 560  # 帮扶建档立卡学生 560 人
    working_age: int = 2144  # 代缴养老保费 2144 名 (16-59, not in school)
    chronic: int = 477  # 慢性病审批通过 477 人
    certified: int = 454  # 办理残疾证 454 人
    appraised: int = 1590  # 房屋安全鉴定 1590 户
    grade_c: int = 83
    grade_d: int = 19
    housing_problems: int = 200  # 排查整改住房问题 200 处
    dropouts: int = 34  # 控辍保学 核查整改问题 34 条
    posts: int = 233  # 公益岗 233 个, each held

    def scaled(self, households: int) -> Targets:
        """The same district with `households` households, every count in proportion (at least one)."""
        if households >= FULL:
            return self
        counts = {name: max(1, value * households // FULL) for name, value in vars(self).items()}
        counts["households"] = households
        dibao = counts["dibao_households"]
        counts["dibao_people"] = min(max(counts["dibao_people"], 2 * dibao), 3 * dibao)
        return replace(self, **counts)


@dataclass
class Person:
    name: str
    relationship: str
    born: date
    id_number: str = ""
    enrolment: str = ""
    stage: str = ""
    able: bool = False
    disability: tuple[str, int, date] | None = None  # type, grade, certified on
    chronic_on: date | None = None

    @property
    def working_age(self) -> bool:
        """16-59 on 2020-01-01 and not in school: whom 城乡居民基本养老保险代缴 pays for."""
        age = 2020 - self.born.year - ((self.born.month, self.born.day) > (1, 1))
        return 16 <= age < 60 and self.enrolment != "enrolled"


@dataclass
class Home:
    """A household and what the half year brings it."""

    index: int
    code: str
    area_code: str
    members: list[Person]
    allowance: tuple[str, date] | None = None  # 民政: dibao / extreme_poverty from a day
    grade: tuple[str, date] | None = None  # 住房安全鉴定: grade, appraised on
    monitored: tuple[date, date | None] | None = None  # risk flag raised on, episode closed on
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (category, code, description), round 2

    @property
    def head(self) -> Person:
        return self.members[0]


def village_of(index: int) -> str:
    township = TOWNSHIP_CODES[index % len(TOWNSHIP_CODES)]
    return f"{township}2{index // len(TOWNSHIP_CODES) % VILLAGES_PER_TOWNSHIP + 1:02d}"


class Population:
    """The district for `targets`: households in order, each with its members and the half year's facts."""

    def __init__(self, targets: Targets) -> None:
        self.targets = targets
        self.homes = [self._home(i) for i in range(targets.households)]
        self._numbers: Counter[date] = Counter()
        for home in self.homes:
            for person in home.members:
                person.id_number = self._id_number(person.born)
        self._half_year(random.Random(2020))  # noqa: S311 (a fixed shuffle, no secret)

    @cached_property
    def people(self) -> list[Person]:
        return [p for home in self.homes for p in home.members]

    def _id_number(self, born: date) -> str:
        self._numbers[born] += 1
        first17 = f"371523{born:%Y%m%d}{699 + self._numbers[born]:03d}"
        return first17 + check_digit(first17)

    def _home(self, i: int) -> Home:
        t = self.targets
        village = village_of(i)
        code = f"{village}{i // (len(TOWNSHIP_CODES) * VILLAGES_PER_TOWNSHIP) + 1:04d}"
        surname = SURNAMES[i % len(SURNAMES)]

        def name(n: int) -> str:
            return surname + GIVEN[(i + n * 5) % len(GIVEN)]

        def elder(n: int, relationship: str) -> Person:
            return Person(name(n), relationship, date(1940 + (i + n) % 17, 1 + i % 12, 1 + n + i % 27))

        if i < t.extreme_people:  # 特困供养: an old person living alone
            return Home(i, code, village, [elder(0, "head")], allowance=("extreme_poverty", date(2020, 3, 1)))
        d = i - t.extreme_people
        if d < t.dibao_households:  # 低保: an old couple, some raising a grandchild
            members = [elder(0, "head"), elder(1, "spouse")]
            if d < t.dibao_people - 2 * t.dibao_households:
                members.append(self._student(name(2), "grandchild", "primary", i))
            since = date(2020, 2 + d % 4, 1)
            return Home(i, code, village, members, allowance=("dibao", since))
        o = i - t.extreme_people - t.dibao_households
        couples = (t.working_age + 1) // 2
        if o < couples:  # working age: the head and the spouse (one alone when the count is odd), a student
            members = [self._adult(name(0), "head", i)]
            if 2 * o + 1 < t.working_age:
                members.append(self._adult(name(1), "spouse", i + 7))
            else:
                members.append(elder(1, "parent"))
            return Home(i, code, village, members)
        return Home(i, code, village, [elder(0, "head")] + ([elder(1, "spouse")] if o % 2 else []))

    @staticmethod
    def _adult(name: str, relationship: str, i: int) -> Person:
        return Person(name, relationship, date(1965 + i % 33, 1 + i % 12, 1 + i % 28), able=True)

    @staticmethod
    def _student(name: str, relationship: str, stage: str, i: int) -> Person:
        born = date(2002 if stage == "vocational" else BORN_IN_STAGE[stage], 1 + i % 12, 1 + i % 28)
        return Person(name, relationship, born, enrolment="enrolled", stage=stage)

    def _half_year(self, rng: random.Random) -> None:
        t = self.targets
        dibao_students = sum(1 for h in self.homes for p in h.members if p.relationship == "grandchild")
        working = [h for h in self.homes if h.head.able]
        for n in range(t.students - dibao_students):  # the working households' children in school
            home = working[n % len(working)]
            stage = "vocational" if n < t.vocational else STAGES[n % len(STAGES)]
            home.members.append(self._student(home.head.name[0] + GIVEN[(n + 3) % len(GIVEN)], "son", stage, n))
            home.members[-1].id_number = self._id_number(home.members[-1].born)
        order = rng.sample(self.homes, len(self.homes))
        for n, home in enumerate(order[: t.appraised]):
            grade = "D" if n < t.grade_d else "C" if n < t.grade_d + t.grade_c else "AB"[n % 2]
            home.grade = (grade, date(2020, 4, 1) + timedelta(days=n % 50))
        plain = [h for h in order if h.allowance is None]
        for n, home in enumerate(plain[: t.monitored]):
            closed = date(2020, 6, 10) + timedelta(days=n % 15) if n >= t.monitored_at_end else None
            home.monitored = (date(2020, 2, 3) + timedelta(days=n % 80), closed)
        for home in order[: t.housing_problems]:
            home.problems.append(
                ("housing", "old_house_not_demolished", "原旧房屋未拆除或仅部分拆除, 院墙门楼存在安全隐患")
            )
        pupils = [h for h in order if any(p.stage in ("primary", "junior_secondary") for p in h.members)]
        for home in pupils[: t.dropouts]:
            home.problems.append(("schooling", "school_dropout", "义务教育阶段学生未按时返校 (控辍保学)"))
        elders = [p for p in rng.sample(self.people, len(self.people)) if not p.able and not p.enrolment]
        for n, person in enumerate(elders[: t.chronic]):  # two rounds of 慢性病集中审批
            person.chronic_on = date(2020, 3, 20) if n % 2 else date(2020, 5, 25)
        for n, person in enumerate(elders[t.chronic : t.chronic + t.certified]):
            certified = date(2020, 1, 6) + timedelta(days=n % 170)
            person.disability = (DISABILITIES[n % len(DISABILITIES)], 1 + n % 4, certified)

    @cached_property
    def post_holders(self) -> list[tuple[Home, Person]]:
        """The members who hold the 公益岗位: one able adult of as many working households, those of 耿店村 last."""
        working = sorted((h for h in self.homes if h.head.able), key=lambda h: (h.area_code == GENGDIAN, h.index))
        return [(h, h.head) for h in working[: self.targets.posts]]

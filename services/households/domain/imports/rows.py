"""Reading the import CSV: one row per member, a household's rows contiguous; validated without I/O.

Columns are found by name in the header; the parser then reads fields by position (this runs for every
row of files with hundreds of thousands of rows).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.households.rules.idcard import InvalidIdNumber, check_born_by, normalize_id_number
from services.households.rules.members import fact_errors
from services.households.rules.vocabulary import DisabilityType, Enrolment, LabourCapacity, SchoolStage
from services.households.settings import KnownAreas
from shared.contracts.households import Relationship
from shared.personal_data import contains_id_number

REQUIRED = (
    "household_code",
    "area_code",
    "head_name",
    "member_name",
    "relationship_to_head",
    "birth_date",
    "id_number",
)
OPTIONAL = (
    "medical_insured",
    "labour_capacity",
    "enrolment",
    "school_stage",
    "disability_type",
    "disability_grade",
    "disability_certified_on",
)
_CODE = re.compile(r"[A-Za-z0-9-]{1,32}")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # control characters but the tab
_VILLAGE = re.compile(r"[0-9]{12}")
_TRUE, _FALSE = frozenset({"1", "true", "yes", "是"}), frozenset({"", "0", "false", "no", "否"})
_RELATIONSHIPS = frozenset(Relationship)
_CHOICES: dict[str, frozenset[str]] = {
    "labour_capacity": frozenset(LabourCapacity),
    "enrolment": frozenset(Enrolment),
    "school_stage": frozenset(SchoolStage),
    "disability_type": frozenset(DisabilityType),
}
_LIMITS = {"head_name": 100, "member_name": 100}


class RowInvalid(ValueError):
    """A row (or one of its fields) cannot be imported; never carries the field's value."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


@dataclass(frozen=True)
class RowError:
    """A line of the file that was not imported, and why (the value is never repeated)."""

    line: int
    field: str
    message: str


@dataclass(frozen=True)
class MemberRow:
    """One valid member row; `id_number` canonical, `facts` the optional member columns."""

    line: int
    name: str
    relationship_to_head: str
    birth_date: date
    id_number: str
    facts: dict[str, Any]


@dataclass
class HouseholdUnit:
    """The contiguous rows of one household: its own fields from the first row, its valid members."""

    code: str
    area_code: str
    head_name: str
    members: list[MemberRow] = field(default_factory=list)


def header_problems(header: Iterable[str]) -> list[str]:
    """What is wrong with a header: required columns missing, a column named twice, or a name the import does not
    know (a misspelt optional column would otherwise be ignored and its data lost). Empty names are ignored."""
    names = [h.strip() for h in header if h.strip()]
    problems = []
    if missing := [c for c in REQUIRED if c not in names]:
        problems.append("the file lacks the columns: " + ", ".join(missing))
    if repeated := sorted({n for n in names if names.count(n) > 1}):
        problems.append("columns named twice: " + ", ".join(repeated))
    if unknown := [n for n in names if n not in (*REQUIRED, *OPTIONAL)]:
        problems.append("unknown columns: " + ", ".join(unknown) + " (the optional ones: " + ", ".join(OPTIONAL) + ")")
    return problems


class RowParser:
    """Validates rows of a file with a given header (pure: the configuration and today are given)."""

    def __init__(self, header: list[str], *, areas: KnownAreas, today: date) -> None:
        names = [h.strip() for h in header]
        self.names, self.width, self.areas, self.today = names, len(names), areas, today
        self.at = {name: names.index(name) for name in (*REQUIRED, *OPTIONAL) if name in names}
        self.checked_areas: dict[str, bool] = {}

    def parse(self, fields: list[str], line: int) -> tuple[str, str, str, MemberRow]:
        """The household fields and the member of one row; RowInvalid names the first bad field."""
        if len(fields) != self.width:
            raise RowInvalid("", f"the row has {len(fields)} fields, the header {self.width}")
        if _CONTROL.search("".join(fields)):  # a NUL would fail the whole chunk's COPY on PostgreSQL
            bad = next(i for i, f in enumerate(fields) if _CONTROL.search(f))
            raise RowInvalid(self.names[bad], f"{self.names[bad]} holds a control character")
        get = self._getter(fields)
        code, area = get("household_code"), get("area_code")
        if not _CODE.fullmatch(code):
            raise RowInvalid("household_code", "household_code must be 1-32 letters, digits or dashes")
        if not self._known_village(area):
            raise RowInvalid("area_code", "area_code must be a 12-digit village of a known township")
        head, name = self._text(get, "head_name"), self._text(get, "member_name")
        relationship = get("relationship_to_head")
        if relationship not in _RELATIONSHIPS:  # the same codes as the API's: a typed ID-card number is none of them
            allowed = ", ".join(sorted(_RELATIONSHIPS))
            raise RowInvalid("relationship_to_head", f"relationship_to_head must be one of {allowed}")
        born = self._date(get("birth_date"))
        try:
            number = normalize_id_number(get("id_number"))
            check_born_by(number, self.today)
        except InvalidIdNumber as exc:
            raise RowInvalid("id_number", str(exc)) from None
        if number[6:14] != f"{born:%Y%m%d}":
            raise RowInvalid("birth_date", "birth_date does not match the one in the ID-card number")
        facts = self._facts(get)
        contradictions = fact_errors({**facts, "birth_date": born})  # the rules a member added by hand meets
        if contradictions:
            raise RowInvalid("disability_certified_on", contradictions[0])
        return code, area, head, MemberRow(line, name, relationship, born, number, facts)

    def _getter(self, fields: list[str]) -> Any:
        at = self.at

        def get(name: str) -> str:
            index = at.get(name)
            return fields[index].strip() if index is not None else ""

        return get

    def _known_village(self, area: str) -> bool:
        known = self.checked_areas.get(area)
        if known is None:
            known = self.checked_areas[area] = bool(_VILLAGE.fullmatch(area)) and self.areas.is_known_area(area)
        return known

    @staticmethod
    def _text(get: Any, name: str) -> str:
        value: str = get(name)
        if not value or len(value) > _LIMITS[name]:
            raise RowInvalid(name, f"{name} is required and at most {_LIMITS[name]} characters")
        if contains_id_number(value):  # stored and shown to every reader
            raise RowInvalid(name, f"{name} must not contain an ID-card number")
        return value

    def _date(self, raw: str, name: str = "birth_date") -> date:
        try:
            value = date.fromisoformat(raw)
        except ValueError:
            raise RowInvalid(name, f"{name} must be a real date written YYYY-MM-DD") from None
        if value > self.today or value.year < 1900:
            raise RowInvalid(name, f"{name} must be between 1900 and today")
        return value

    def _facts(self, get: Any) -> dict[str, Any]:
        insured = get("medical_insured").lower()
        if insured not in _TRUE and insured not in _FALSE:
            raise RowInvalid("medical_insured", "medical_insured must be true or false")
        facts: dict[str, Any] = {"medical_insured": insured in _TRUE}
        for name, allowed in _CHOICES.items():
            value = get(name)
            if value and value not in allowed:
                raise RowInvalid(name, f"{name} must be one of " + ", ".join(sorted(allowed)))
            facts[name] = value or None
        grade, certified = get("disability_grade"), get("disability_certified_on")
        if len({bool(grade), bool(facts["disability_type"]), bool(certified)}) > 1 or (
            grade and grade not in {"1", "2", "3", "4"}
        ):
            raise RowInvalid(
                "disability_grade", "a disability needs a type, a grade 1-4 and a certificate date, or none of them"
            )
        facts["disability_grade"] = int(grade) if grade else None
        facts["disability_certified_on"] = self._date(certified, "disability_certified_on") if certified else None
        return facts


def households(
    rows: Iterable[tuple[int, list[str]]], parser: RowParser, *, errors: list[RowError]
) -> Iterator[HouseholdUnit]:
    """Household units in file order from (line, fields) rows; invalid rows go to `errors`."""
    unit: HouseholdUnit | None = None
    for line, fields in rows:
        if not any(field.strip() for field in fields):
            continue  # a blank line, or a spreadsheet row of empty (perhaps formatted) cells
        try:
            code, area, head, member = parser.parse(fields, line)
        except RowInvalid as exc:
            errors.append(RowError(line, exc.field, exc.message))
            continue
        if unit is None or unit.code != code:
            if unit is not None:
                yield unit
            unit = HouseholdUnit(code, area, head)
        if (area, head) != (unit.area_code, unit.head_name):
            errors.append(RowError(line, "area_code", "area_code and head_name differ from the household's first row"))
            continue
        unit.members.append(member)
    if unit is not None:
        yield unit

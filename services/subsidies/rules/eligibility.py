"""Eligibility as data (享受政策资格条件): a programme version's rule is a list of conditions over named facts, all of
which must hold, e.g. `[{"fact": "household.allowance", "op": "eq", "value": "dibao"}]`.

A small interpreter over a fixed table of facts and operators: nothing is evaluated as code. Every decision keeps
each condition, the fact's value and whether it held, so anyone can read why a holder is or is not entitled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NoReturn
from uuid import UUID

from services.subsidies.rules.vocabulary import ProgrammeUnit
from shared.contracts.households import HouseholdStatus, HousingGrade, MinimumAllowance, Relationship, RiskKind
from shared.errors import InvalidInput


class FactType(StrEnum):
    """What kind of value a fact holds, which decides the operators a condition may use on it."""

    CODE = "code"  # one of a closed list of codes
    NUMBER = "number"  # a whole number
    FLAG = "flag"  # true or false
    CODES = "codes"  # a set of codes


@dataclass(frozen=True)
class Fact:
    """A fact a rule may name: whose it is, its type, the codes it may hold, and the events it is kept from."""

    name: str
    type: FactType
    meaning: str
    source: str
    codes: tuple[str, ...] = ()

    @property
    def unit(self) -> ProgrammeUnit:
        return ProgrammeUnit.MEMBER if self.name.startswith("member.") else ProgrammeUnit.HOUSEHOLD


def _codes(vocabulary: type[StrEnum]) -> tuple[str, ...]:
    return tuple(code.value for code in vocabulary)


ENROLMENTS = ("enrolled", "dropped_out", "exempt")
SCHOOL_STAGES = ("preschool", "primary", "junior_secondary", "senior_secondary", "vocational", "higher")

FACTS: dict[str, Fact] = {
    fact.name: fact
    for fact in (
        Fact("household.status", FactType.CODE, "脱贫状态 on the period's first day", "HouseholdStatusChanged",
             _codes(HouseholdStatus)),
        Fact("household.allowance", FactType.CODE, "低保 / 特困供养 status on the period's first day",
             "MinimumAllowanceChanged", _codes(MinimumAllowance)),
        Fact("household.housing_grade", FactType.CODE, "住房安全鉴定 grade of the latest appraisal",
             "HousingAppraised, HousingRenovated", _codes(HousingGrade)),
        Fact("household.monitoring_open", FactType.FLAG, "a relapse-risk monitoring episode (防返贫监测) is open",
             "MonitoringEpisodeOpened, RiskFlagRaised, MonitoringEpisodeClosed"),
        Fact("household.risk_kinds", FactType.CODES, "the flags of the open monitoring episode",
             "RiskFlagRaised, MonitoringEpisodeClosed", _codes(RiskKind)),
        Fact("household.member_count", FactType.NUMBER, "members living on the period's first day",
             "HouseholdRegistered, MemberAdded, MemberDied"),
        Fact("member.age", FactType.NUMBER, "whole years of age on the period's first day", "MemberAdded"),
        Fact("member.relationship", FactType.CODE, "与户主关系, relationship to the head", "MemberAdded",
             _codes(Relationship)),
        Fact("member.alive", FactType.FLAG, "not dead before the period's first day", "MemberDied"),
        Fact("member.disability_grade", FactType.NUMBER, "残疾证 grade, 1 (most severe) to 4",
             "MemberDisabilityRecorded"),
        Fact("member.enrolment", FactType.CODE, "控辍保学 enrolment", "MemberSchoolingChanged", ENROLMENTS),
        Fact("member.school_stage", FactType.CODE, "学段, the stage of schooling", "MemberSchoolingChanged",
             SCHOOL_STAGES),
        Fact("member.medical_insured", FactType.FLAG, "insured by basic medical insurance (基本医疗保险)",
             "MemberMedicalCoverageChanged"),
        Fact("member.premium_subsidised", FactType.FLAG, "the insurance premium is subsidised (代缴)",
             "MemberMedicalCoverageChanged"),
    )
}  # fmt: skip


def _member(item: object, collection: object) -> bool:
    return isinstance(collection, list | tuple | frozenset | set) and item in collection


# Each operator: how it reads in plain words, and the test it applies to a known value.
OPERATORS: dict[str, tuple[str, Callable[[Any, Any], bool]]] = {
    "eq": ("must be", lambda actual, expected: bool(actual == expected)),
    "ne": ("must not be", lambda actual, expected: bool(actual != expected)),
    "in": ("must be one of", _member),
    "not_in": ("must be none of", lambda actual, expected: not _member(actual, expected)),
    "lt": ("must be under", lambda actual, expected: bool(actual < expected)),
    "lte": ("must be at most", lambda actual, expected: bool(actual <= expected)),
    "gt": ("must be over", lambda actual, expected: bool(actual > expected)),
    "gte": ("must be at least", lambda actual, expected: bool(actual >= expected)),
    "contains": ("must include", lambda actual, expected: _member(expected, actual)),
}
# An unknown fact (None) holds only a condition that it is not something.
HOLDS_WHEN_UNKNOWN = frozenset({"ne", "not_in"})
_OPS_BY_TYPE: dict[FactType, frozenset[str]] = {
    FactType.CODE: frozenset({"eq", "ne", "in", "not_in"}),
    FactType.NUMBER: frozenset({"eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte"}),
    FactType.FLAG: frozenset({"eq", "ne"}),
    FactType.CODES: frozenset({"contains"}),
}
_LIST_OPS = frozenset({"in", "not_in"})


def operators_for(fact_type: FactType) -> list[str]:
    """The operators a condition on a fact of this type may use, in the table's order."""
    return [op for op in OPERATORS if op in _OPS_BY_TYPE[fact_type]]


@dataclass(frozen=True)
class HolderFacts:
    """The facts of one holder (a household, or one of its members) as of a period's first day.

    `values` maps a fact's name to its value, None when subsidies does not know it.
    """

    household_id: UUID
    member_id: UUID | None
    area_code: str
    values: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class Check:
    """One condition of a rule judged on one holder's facts; `reason` says it in one plain line."""

    fact: str
    op: str
    expected: object
    actual: object
    holds: bool

    @property
    def reason(self) -> str:
        """Written when read: a cycle of 100,000 holders judges half a million conditions, most never explained."""
        shown = "not known" if self.actual is None else _show(self.actual)
        verdict = "met" if self.holds else "not met"
        return f"{self.fact} is {shown} ({OPERATORS[self.op][0]} {_show(self.expected)}): {verdict}"


@dataclass(frozen=True)
class Decision:
    """Whether the holder is entitled (every condition held), with each condition's check."""

    entitled: bool
    checks: tuple[Check, ...]

    def explanation(self) -> list[dict[str, object]]:
        """The checks as JSON-able objects, as an entitlement keeps them."""
        return [
            {
                "fact": c.fact,
                "op": c.op,
                "expected": c.expected,
                "actual": c.actual,
                "holds": c.holds,
                "reason": c.reason,
            }
            for c in self.checks
        ]


# Whatever a rule says, nobody is entitled for a period they were dead before (死亡注销), nor a household with no
# living member, nor one that had left poverty without policies (脱贫不享受政策: every policy ends): judged first, as
# conditions of every rule, unless the rule states them itself.
MEMBER_LIVING: dict[str, Any] = {"fact": "member.alive", "op": "eq", "value": True}
HOUSEHOLD_LIVING: dict[str, Any] = {"fact": "household.member_count", "op": "gt", "value": 0}
RECEIVES_POLICIES: dict[str, Any] = {
    "fact": "household.status",
    "op": "ne",
    "value": HouseholdStatus.EXITED_NO_POLICIES.value,
}
# The facts the engine's own conditions read, whatever the rule's conditions read.
ENGINE_FACTS = ("member.alive", "household.member_count", "household.status")


def evaluate(rule: Sequence[Mapping[str, Any]], facts: HolderFacts) -> Decision:
    """Judge every condition of a (validated) rule on the holder's facts: entitled when all hold.

    The engine's conditions come first: a member living on the period's first day for a member's holding, a living
    member for a household's; then the household not exited without policies on that day. Each is left out when the
    rule states it, or when its fact is not known (as in a bare set of facts).
    """
    values = facts.values
    living = MEMBER_LIVING if facts.member_id is not None else HOUSEHOLD_LIVING
    implied = [c for c in (living, RECEIVES_POLICIES) if values.get(c["fact"]) is not None and c not in rule]
    checks = tuple(_check(c["fact"], c["op"], c["value"], values.get(c["fact"])) for c in [*implied, *rule])
    return Decision(entitled=all(c.holds for c in checks), checks=checks)


def _check(fact: str, op: str, expected: object, actual: object) -> Check:
    holds = op in HOLDS_WHEN_UNKNOWN if actual is None else OPERATORS[op][1](actual, expected)
    return Check(fact, op, expected, actual, holds)


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]" if value else "none"
    return str(value)


def amount_for(version_amount_fen: int, per_member: bool, living_members: int) -> int:
    """What one holder is paid for a period: the version's amount, times the living members when it is per member
    (低保: 258 yuan a person a month), in whole fen."""
    return version_amount_fen * living_members if per_member else version_amount_fen


def validate_rule(rule: object, unit: ProgrammeUnit) -> list[dict[str, object]]:
    """The rule as stored (each condition `{"fact", "op", "value"}`), or InvalidInput listing every bad condition.

    Refused: not a list of conditions; an empty rule (no fact to decide from: `no_fact_source`); an unknown fact or
    operator; an operator the fact's type does not take; a value of the wrong type or outside the fact's codes; a
    member's fact in a programme that pays households.
    """
    if not isinstance(rule, list):
        _refuse([_error("body.rule", "must be a list of conditions", "rule_format")])
    if not rule:
        _refuse([_error("body.rule", "a rule needs at least one condition on a fact", "no_fact_source")])
    errors: list[dict[str, str]] = []
    conditions: list[dict[str, object]] = []
    for i, condition in enumerate(rule):
        problem = _condition_problem(condition, unit)
        if problem is None:
            conditions.append({"fact": condition["fact"], "op": condition["op"], "value": condition["value"]})
        else:
            errors.append(_error(f"body.rule.{i}", *problem))
    if errors:
        _refuse(errors)
    return conditions


def _condition_problem(condition: object, unit: ProgrammeUnit) -> tuple[str, str] | None:
    """What is wrong with one condition, as (message, code), or None."""
    if not isinstance(condition, dict) or set(condition) != {"fact", "op", "value"}:
        return 'a condition is an object with exactly "fact", "op" and "value"', "condition_format"
    fact, op = FACTS.get(condition["fact"]) if isinstance(condition["fact"], str) else None, condition["op"]
    if fact is None:
        return "not a fact subsidies keeps (see the rule language's facts)", "unknown_fact"
    if fact.unit is ProgrammeUnit.MEMBER and unit is ProgrammeUnit.HOUSEHOLD:
        return f"{fact.name} is a member's fact: a household programme's rule reads household facts", "member_fact"
    if not isinstance(op, str) or op not in OPERATORS:
        return f"not an operator; one of {', '.join(OPERATORS)}", "unknown_op"
    if op not in _OPS_BY_TYPE[fact.type]:
        return f"{fact.name} ({fact.type.value}) takes {', '.join(operators_for(fact.type))}", "op_not_allowed"
    return _value_problem(fact, op, condition["value"])


def _value_problem(fact: Fact, op: str, value: object) -> tuple[str, str] | None:
    if op in _LIST_OPS:
        if not isinstance(value, list) or not value:
            return f"{op} takes a non-empty list of values", "value_type"
        problems = [p for v in value if (p := _scalar_problem(fact, v)) is not None]
        return problems[0] if problems else None
    return _scalar_problem(fact, value)


def _scalar_problem(fact: Fact, value: object) -> tuple[str, str] | None:
    if fact.type is FactType.NUMBER:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else (f"{fact.name} is compared with a whole number", "value_type")
    if fact.type is FactType.FLAG:
        return None if isinstance(value, bool) else (f"{fact.name} is compared with true or false", "value_type")
    if value not in fact.codes:
        return f"{fact.name} holds one of {', '.join(fact.codes)}", "unknown_value"
    return None


def _error(field: str, message: str, code: str) -> dict[str, str]:
    return {"field": field, "message": message, "code": code}


def _refuse(errors: list[dict[str, str]]) -> NoReturn:
    raise InvalidInput("The eligibility rule is not valid: see each condition's error.", errors=errors)

"""Eligibility as data, as pure rules: the rule language (facts, operators, values), its validation, decisions
with their explanation, amounts, periods by frequency, and the report's catalogue."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import pytest

from services.subsidies.rules.eligibility import (
    FACTS,
    OPERATORS,
    FactType,
    HolderFacts,
    amount_for,
    evaluate,
    operators_for,
    validate_rule,
)
from services.subsidies.rules.periods import (
    check_period,
    period_begun,
    period_first_day,
    period_form,
    period_span,
    period_year,
)
from services.subsidies.rules.report_catalogue import DECIDED_BY_PROJECTS, REPORT_CATALOGUE, WITHOUT_FACTS
from services.subsidies.rules.vocabulary import Frequency, ProgrammeUnit
from shared.contracts.subsidies import PolicyCode
from shared.errors import InvalidInput

HOUSEHOLD, MEMBER = ProgrammeUnit.HOUSEHOLD, ProgrammeUnit.MEMBER
H = UUID(int=1)


def _facts(**values: object) -> HolderFacts:
    return HolderFacts(H, None, "371523101201", {k.replace("__", "."): v for k, v in values.items()})


def _c(fact: object, op: str, value: Any) -> dict[str, Any]:
    return {"fact": fact, "op": op, "value": value}


def _one(condition: dict[str, Any], **values: object) -> bool:
    return evaluate([condition], _facts(**values)).entitled


# --- every operator on every type ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "age", "holds"),
    [
        ("eq", 60, 60, True),
        ("eq", 60, 61, False),
        ("ne", 60, 61, True),
        ("ne", 60, 60, False),
        ("in", [16, 17], 17, True),
        ("in", [16, 17], 18, False),
        ("not_in", [16, 17], 18, True),
        ("not_in", [16, 17], 16, False),
        ("lt", 60, 59, True),
        ("lt", 60, 60, False),
        ("lte", 60, 60, True),
        ("lte", 60, 61, False),
        ("gt", 15, 16, True),
        ("gt", 16, 16, False),
        ("gte", 16, 16, True),
        ("gte", 16, 15, False),
    ],
)
def test_numbers_take_every_comparison(op: str, value: object, age: int, holds: bool) -> None:
    assert _one(_c("member.age", op, value), member__age=age) is holds


@pytest.mark.parametrize(
    ("op", "value", "actual", "holds"),
    [
        ("eq", "dibao", "dibao", True),
        ("eq", "dibao", "none", False),
        ("ne", "exited_no_policies", "in_poverty", True),
        ("ne", "exited_no_policies", "exited_no_policies", False),
        ("in", ["C", "D"], "D", True),
        ("in", ["C", "D"], "B", False),
        ("not_in", ["C", "D"], "A", True),
        ("not_in", ["C", "D"], "C", False),
    ],
)
def test_codes_take_equality_and_membership(op: str, value: object, actual: str, holds: bool) -> None:
    fact = {"dibao": "household.allowance", "exited_no_policies": "household.status"}.get(str(value), "")
    fact = fact or "household.housing_grade"
    assert evaluate([_c(fact, op, value)], _facts(**{fact.replace(".", "__"): actual})).entitled is holds


@pytest.mark.parametrize(
    ("op", "value", "actual", "holds"),
    [("eq", True, True, True), ("eq", True, False, False), ("ne", True, False, True), ("ne", False, False, False)],
)
def test_flags_take_equality(op: str, value: bool, actual: bool, holds: bool) -> None:
    assert _one(_c("member.alive", op, value), member__alive=actual) is holds


def test_a_set_of_codes_takes_contains() -> None:
    condition = _c("household.risk_kinds", "contains", "large_medical_expense")
    assert _one(condition, household__risk_kinds=["disaster", "large_medical_expense"])
    assert not _one(condition, household__risk_kinds=["disaster"])
    assert not _one(condition, household__risk_kinds=[])


def test_the_operators_each_type_takes() -> None:
    assert operators_for(FactType.NUMBER) == ["eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte"]
    assert operators_for(FactType.CODE) == ["eq", "ne", "in", "not_in"]
    assert operators_for(FactType.FLAG) == ["eq", "ne"]
    assert operators_for(FactType.CODES) == ["contains"]
    assert set(OPERATORS) == {"eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "contains"}


# --- unknown facts -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", sorted(OPERATORS))
def test_an_unknown_fact_holds_only_a_condition_that_it_is_not_something(op: str) -> None:
    fact, scalar = ("household.risk_kinds", "disaster") if op == "contains" else ("member.disability_grade", 2)
    value = [scalar] if op in {"in", "not_in"} else scalar
    decision = evaluate([_c(fact, op, value)], _facts(member__disability_grade=None))
    assert decision.entitled is (op in {"ne", "not_in"})
    [check] = decision.checks
    assert check.actual is None and "not known" in check.reason


def test_a_fact_missing_from_the_holders_facts_is_not_known() -> None:
    decision = evaluate([_c("member.school_stage", "eq", "primary")], _facts())
    assert not decision.entitled and decision.checks[0].reason.startswith("member.school_stage is not known")


# --- decisions and their explanation -------------------------------------------------------------------------------


def test_every_condition_must_hold_and_each_is_explained() -> None:
    rule = [_c("household.allowance", "eq", "dibao"), _c("household.status", "ne", "exited_no_policies")]
    entitled = evaluate(rule, _facts(household__allowance="dibao", household__status="in_poverty"))
    assert entitled.entitled and all(c.holds for c in entitled.checks)
    refused = evaluate(rule, _facts(household__allowance="dibao", household__status="exited_no_policies"))
    assert not refused.entitled
    assert [c.holds for c in refused.checks] == [True, False]
    assert refused.explanation() == [
        {
            "fact": "household.allowance",
            "op": "eq",
            "expected": "dibao",
            "actual": "dibao",
            "holds": True,
            "reason": "household.allowance is dibao (must be dibao): met",
        },
        {
            "fact": "household.status",
            "op": "ne",
            "expected": "exited_no_policies",
            "actual": "exited_no_policies",
            "holds": False,
            "reason": "household.status is exited_no_policies (must not be exited_no_policies): not met",
        },
    ]


@pytest.mark.parametrize(
    ("condition", "values", "reason"),
    [
        (_c("member.age", "gte", 16), {"member__age": 63}, "member.age is 63 (must be at least 16): met"),
        (_c("member.age", "lt", 60), {"member__age": 63}, "member.age is 63 (must be under 60): not met"),
        (_c("member.age", "lte", 2), {"member__age": 2}, "member.age is 2 (must be at most 2): met"),
        (_c("member.age", "gt", 2), {"member__age": 2}, "member.age is 2 (must be over 2): not met"),
        (
            _c("member.school_stage", "in", ["vocational", "higher"]),
            {"member__school_stage": "higher"},
            "member.school_stage is higher (must be one of [vocational, higher]): met",
        ),
        (
            _c("household.housing_grade", "not_in", ["C", "D"]),
            {"household__housing_grade": "D"},
            "household.housing_grade is D (must be none of [C, D]): not met",
        ),
        (_c("member.alive", "eq", True), {"member__alive": False}, "member.alive is false (must be true): not met"),
        (
            _c("household.risk_kinds", "contains", "disaster"),
            {"household__risk_kinds": []},
            "household.risk_kinds is none (must include disaster): not met",
        ),
        (
            _c("member.disability_grade", "lte", 2),
            {},
            "member.disability_grade is not known (must be at most 2): not met",
        ),
    ],
)
def test_each_check_says_why_in_one_plain_line(
    condition: dict[str, Any], values: dict[str, object], reason: str
) -> None:
    [check] = evaluate([condition], _facts(**values)).checks
    assert check.reason == reason


@pytest.mark.parametrize("code", [p.code for p in REPORT_CATALOGUE if p.unit is MEMBER])
def test_a_member_dead_before_the_period_is_entitled_to_no_member_programme_whatever_its_rule(
    code: PolicyCode,
) -> None:
    """The engine's own first condition: 雨露计划's seeded rule says nothing of death, yet a dead student is refused."""
    entitling = {"member.disability_grade": 1, "member.enrolment": "enrolled", "member.school_stage": "vocational",
                 "member.medical_insured": True, "member.age": 30, "household.status": "in_poverty"}  # fmt: skip
    dead = evaluate(_seeded(code), HolderFacts(H, UUID(int=2), "371523101201", {**entitling, "member.alive": False}))
    assert not dead.entitled
    assert "member.alive is false (must be true): not met" in [c.reason for c in dead.checks if not c.holds]
    assert [c.fact for c in dead.checks].count("member.alive") == 1  # a rule stating it is not asked twice


def test_the_living_condition_comes_first_and_only_where_the_fact_is_known() -> None:
    rule = [_c("household.allowance", "eq", "dibao")]
    empty = evaluate(rule, _facts(household__allowance="dibao", household__member_count=0))
    assert not empty.entitled
    assert [(c.fact, c.holds) for c in empty.checks] == [
        ("household.member_count", False),
        ("household.allowance", True),
    ]
    assert empty.checks[0].reason == "household.member_count is 0 (must be over 0): not met"
    lived = evaluate(rule, _facts(household__allowance="dibao", household__member_count=2))
    assert lived.entitled and lived.checks[0].reason == "household.member_count is 2 (must be over 0): met"
    assert [c.fact for c in evaluate(rule, _facts(household__allowance="dibao")).checks] == ["household.allowance"]
    member = HolderFacts(H, UUID(int=2), "371523101201", {"member.alive": True, "member.age": 20})
    decision = evaluate([_c("member.age", "gte", 16)], member)
    assert decision.entitled and [c.fact for c in decision.checks] == ["member.alive", "member.age"]


EXITED = "household.status is exited_no_policies (must not be exited_no_policies): not met"


def test_a_household_that_exited_without_policies_is_entitled_to_nothing_whatever_the_rule() -> None:
    """脱贫不享受政策 ends every policy: the engine asks it after the living condition, as death is asked."""
    rule = [_c("household.allowance", "eq", "dibao")]
    exited = evaluate(rule, _facts(household__allowance="dibao", household__member_count=2,
                                   household__status="exited_no_policies"))  # fmt: skip
    assert not exited.entitled
    assert [(c.fact, c.holds) for c in exited.checks] == [
        ("household.member_count", True),
        ("household.status", False),
        ("household.allowance", True),
    ]
    assert exited.explanation()[1]["reason"] == EXITED
    staying = evaluate(rule, _facts(household__allowance="dibao", household__status="exited_receiving_policies"))
    assert staying.entitled and [c.fact for c in staying.checks] == ["household.status", "household.allowance"]
    values = {"member.alive": True, "member.age": 20, "household.status": "exited_no_policies"}
    decision = evaluate([_c("member.age", "gte", 16)], HolderFacts(H, UUID(int=2), "371523101201", values))
    assert not decision.entitled
    assert [c.fact for c in decision.checks] == ["member.alive", "household.status", "member.age"]


def test_a_rule_stating_the_exit_condition_is_not_asked_it_twice_and_an_unknown_status_adds_nothing() -> None:
    seeded = _seeded(PolicyCode.DIBAO)  # its own condition comes where the rule states it
    exited = evaluate(seeded, _facts(household__allowance="dibao", household__member_count=1,
                                     household__status="exited_no_policies"))  # fmt: skip
    assert [c.fact for c in exited.checks] == ["household.member_count", "household.allowance", "household.status"]
    assert not exited.entitled and [c.reason for c in exited.checks if not c.holds] == [EXITED]
    bare = evaluate([_c("household.allowance", "eq", "dibao")], _facts(household__allowance="dibao"))
    assert bare.entitled and [c.fact for c in bare.checks] == ["household.allowance"]


def test_a_member_programme_reads_household_and_member_facts_together() -> None:
    rule = [_c("member.age", "gte", 16), _c("household.status", "ne", "exited_no_policies")]
    facts = HolderFacts(H, UUID(int=2), "371523101201", {"member.age": 40, "household.status": "monitored"})
    decision = evaluate(rule, facts)
    assert decision.entitled and [c.actual for c in decision.checks] == [40, "monitored"]


# --- validation ----------------------------------------------------------------------------------------------------


def _errors(rule: object, unit: ProgrammeUnit = MEMBER) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInput) as refused:
        validate_rule(rule, unit)
    return [(e["field"], e["code"]) for e in refused.value.extensions["errors"]]


def test_a_valid_rule_is_kept_as_its_conditions() -> None:
    rule = [_c("member.age", "gte", 16), _c("member.school_stage", "in", ["vocational", "higher"])]
    assert validate_rule(rule, MEMBER) == rule


def test_an_empty_rule_has_no_source_of_facts() -> None:
    assert _errors([]) == [("body.rule", "no_fact_source")]
    assert _errors({"fact": "member.age"}) == [("body.rule", "rule_format")]


@pytest.mark.parametrize(
    ("condition", "code"),
    [
        (_c("member.income", "eq", 1), "unknown_fact"),
        (_c(3, "eq", 1), "unknown_fact"),
        (_c("member.age", "about", 1), "unknown_op"),
        (_c("member.age", "contains", 1), "op_not_allowed"),
        (_c("member.alive", "gt", True), "op_not_allowed"),
        (_c("household.allowance", "lt", "dibao"), "op_not_allowed"),
        (_c("household.risk_kinds", "eq", "disaster"), "op_not_allowed"),
        (_c("member.age", "gte", "16"), "value_type"),
        (_c("member.age", "gte", 16.5), "value_type"),
        (_c("member.age", "gte", True), "value_type"),
        (_c("member.alive", "eq", "yes"), "value_type"),
        (_c("member.alive", "eq", 1), "value_type"),
        (_c("member.age", "in", 16), "value_type"),
        (_c("member.age", "in", []), "value_type"),
        (_c("member.age", "in", [16, "17"]), "value_type"),
        (_c("household.allowance", "eq", "Dibao"), "unknown_value"),
        (_c("member.school_stage", "in", ["higher", "university"]), "unknown_value"),
        (_c("household.risk_kinds", "contains", "flood"), "unknown_value"),
        ({"fact": "member.age", "op": "gte"}, "condition_format"),
        ({"fact": "member.age", "op": "gte", "value": 1, "note": "x"}, "condition_format"),
        ("member.age >= 16", "condition_format"),
    ],
)
def test_a_bad_condition_is_named_with_its_code(condition: object, code: str) -> None:
    assert _errors([_c("member.alive", "eq", True), condition]) == [("body.rule.1", code)]


def test_a_household_programme_reads_no_member_fact() -> None:
    assert _errors([_c("member.age", "gte", 16)], HOUSEHOLD) == [("body.rule.0", "member_fact")]
    assert validate_rule([_c("household.member_count", "gte", 2)], HOUSEHOLD)


def test_every_bad_condition_is_reported_at_once() -> None:
    rule = [_c("member.nope", "eq", 1), _c("member.age", "gte", 16), _c("member.age", "gte", "x")]
    assert _errors(rule) == [("body.rule.0", "unknown_fact"), ("body.rule.2", "value_type")]


def test_every_fact_of_the_vocabulary_is_documented_and_owned() -> None:
    assert set(FACTS) == {
        "household.status", "household.allowance", "household.housing_grade", "household.monitoring_open",
        "household.risk_kinds", "household.member_count", "member.age", "member.relationship", "member.alive",
        "member.disability_grade", "member.enrolment", "member.school_stage", "member.medical_insured",
        "member.premium_subsidised",
    }  # fmt: skip
    for fact in FACTS.values():
        assert fact.meaning and fact.source
        assert (fact.type in {FactType.CODE, FactType.CODES}) == bool(fact.codes)


# --- amounts -------------------------------------------------------------------------------------------------------


def test_an_amount_per_member_counts_the_living_members() -> None:
    assert amount_for(25_800, True, 3) == 77_400
    assert amount_for(25_800, True, 0) == 0
    assert amount_for(150_000, False, 5) == 150_000


# --- periods by frequency ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "frequency", "span"),
    [
        ("2020-06", Frequency.MONTHLY, (date(2020, 6, 1), date(2020, 7, 1))),
        ("2020-12", Frequency.MONTHLY, (date(2020, 12, 1), date(2021, 1, 1))),
        ("2020-02", Frequency.ONE_OFF, (date(2020, 2, 1), date(2020, 3, 1))),
        ("2020-S1", Frequency.TERMLY, (date(2020, 1, 1), date(2020, 7, 1))),
        ("2020-S2", Frequency.TERMLY, (date(2020, 7, 1), date(2021, 1, 1))),
        ("2020", Frequency.YEARLY, (date(2020, 1, 1), date(2021, 1, 1))),
    ],
)
def test_each_frequency_writes_its_periods(period: str, frequency: Frequency, span: tuple[date, date]) -> None:
    assert period_span(period, frequency) == span
    check_period(period, frequency)
    assert period_first_day(period) == span[0] and period_year(period) == 2020


@pytest.mark.parametrize(
    ("period", "frequency"),
    [
        ("2020", Frequency.MONTHLY),
        ("2020-S1", Frequency.MONTHLY),
        ("2020-13", Frequency.MONTHLY),
        ("2020-06", Frequency.TERMLY),
        ("2020-S3", Frequency.TERMLY),
        ("2020-06", Frequency.YEARLY),
        ("0465", Frequency.YEARLY),
        ("2020-6", Frequency.ONE_OFF),
    ],
)
def test_a_period_not_of_the_frequency_is_refused(period: str, frequency: Frequency) -> None:
    with pytest.raises(ValueError, match=frequency.value):
        period_span(period, frequency)
    with pytest.raises(InvalidInput) as refused:
        check_period(period, frequency)
    [error] = refused.value.extensions["errors"]
    assert (error["field"], error["code"]) == ("body.period", "period_format")
    assert error["message"] == f"a {frequency.value} period is written {period_form(frequency)}"


def test_a_period_of_any_form_has_begun_on_its_first_day() -> None:
    today = date(2020, 7, 1)
    assert period_begun("2020-07", today=today) and not period_begun("2020-08", today=today)
    assert period_begun("2020-S2", today=today) and not period_begun("2021-S1", today=today)
    assert period_begun("2020", today=today) and not period_begun("2021", today=today)
    assert not period_begun("2020-S2", today=date(2020, 6, 30))
    with pytest.raises(ValueError, match="YYYY-MM"):
        period_first_day("2020/07")


# --- the report's catalogue ----------------------------------------------------------------------------------------


def test_every_programme_of_the_report_has_a_valid_rule_and_no_programme_without_facts_is_seeded() -> None:
    codes = {p.code for p in REPORT_CATALOGUE}
    assert len(codes) == len(REPORT_CATALOGUE) == 11
    assert codes | WITHOUT_FACTS | DECIDED_BY_PROJECTS == set(PolicyCode)
    assert not codes & (WITHOUT_FACTS | DECIDED_BY_PROJECTS) and not WITHOUT_FACTS & DECIDED_BY_PROJECTS
    for programme in REPORT_CATALOGUE:
        assert validate_rule(list(programme.rule), programme.unit)
        assert {"fact": "household.status", "op": "ne", "value": "exited_no_policies"} in programme.rule
        assert programme.amount_fen > 0 and not (programme.per_member and programme.unit is MEMBER)


def _seeded(code: PolicyCode) -> list[dict[str, Any]]:
    return list(next(p for p in REPORT_CATALOGUE if p.code == code).rule)


@pytest.mark.parametrize(
    ("code", "values", "entitled"),
    [
        (PolicyCode.DIBAO, {"household.allowance": "dibao", "household.status": "in_poverty"}, True),
        (PolicyCode.DIBAO, {"household.allowance": "none", "household.status": "in_poverty"}, False),
        (PolicyCode.DIBAO, {"household.allowance": "dibao", "household.status": "exited_no_policies"}, False),
        (PolicyCode.DISABILITY_NURSING_SUBSIDY, {"member.disability_grade": 2, "member.alive": True}, True),
        (PolicyCode.DISABILITY_NURSING_SUBSIDY, {"member.disability_grade": 3, "member.alive": True}, False),
        (PolicyCode.DISABILITY_LIVING_SUBSIDY, {"member.disability_grade": 4, "member.alive": True}, True),
        (PolicyCode.DISABILITY_LIVING_SUBSIDY, {"member.disability_grade": 4, "member.alive": False}, False),
        (PolicyCode.PENSION_PREMIUM_SUBSIDY, {"member.age": 59, "member.alive": True}, True),
        (PolicyCode.PENSION_PREMIUM_SUBSIDY, {"member.age": 60, "member.alive": True}, False),
        (PolicyCode.PENSION_PREMIUM_SUBSIDY, {"member.age": 17, "member.enrolment": "enrolled", "member.alive": True},
         False),
        (PolicyCode.RAIN_AND_DEW_EDUCATION_AID, {"member.enrolment": "enrolled", "member.school_stage": "vocational"},
         True),
        (PolicyCode.EDUCATION_AID, {"member.enrolment": "enrolled", "member.school_stage": "vocational"}, False),
        (PolicyCode.MEDICAL_AID, {"household.risk_kinds": ["large_medical_expense"]}, True),
        (PolicyCode.DANGEROUS_HOUSE_RENOVATION, {"household.housing_grade": "B"}, False),
    ],
)  # fmt: skip
def test_the_report_rules_decide_as_the_report_says(
    code: PolicyCode, values: dict[str, object], entitled: bool
) -> None:
    facts = HolderFacts(H, UUID(int=2), "371523101201", {"household.status": "in_poverty", **values})
    assert evaluate(_seeded(code), facts).entitled is entitled

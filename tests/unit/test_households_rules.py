"""The register's rules as plain functions: exit standard, lifecycle, relapse-risk monitoring, housing, dates,
paging."""

from __future__ import annotations

from datetime import date
from itertools import product
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.households.domain import history
from services.households.rules import housing, lifecycle, monitoring
from services.households.rules.dates import ensure_happened
from services.households.rules.guarantees import (
    Gap,
    HouseholdFacts,
    Line,
    MemberFacts,
    age_on,
    gaps,
    is_school_age,
    per_capita_fen,
)
from services.households.rules.members import fact_errors
from services.households.rules.visits import ProblemNoted, problems_from_visit
from shared.api.pagination import (
    date_key,
    decode_cursor,
    encode_cursor,
    int_key,
    page_of,
    parse_cursor,
    text_key,
    uuid_key,
)
from shared.contracts.households import EpisodeDecision, HouseholdStatus, ProblemCategory
from shared.errors import InvalidInput, RuleViolation

ON = date(2020, 6, 30)
LINE = Line(line_fen=450_000, margin_fen=150_000)  # the report's 4,500 yuan; margin illustrative
S = HouseholdStatus


def adult(**kw: object) -> MemberFacts:
    return MemberFacts(uuid4(), kw.get("born", date(1960, 1, 1)), kw.get("enrolment"), kw.get("insured", True))  # type: ignore[arg-type]


def facts(**kw: object) -> HouseholdFacts:
    members = kw.get("members", [adult(), adult()])
    return HouseholdFacts(
        housing_grade=kw.get("grade", "A"),  # type: ignore[arg-type]
        water_safe=kw.get("water", True),  # type: ignore[arg-type]
        members=members,  # type: ignore[arg-type]
        income_fen=kw.get("income", 2 * 450_000),  # type: ignore[arg-type]
        line=kw.get("line", LINE),  # type: ignore[arg-type]
        on=ON,
    )


def codes(result: list[Gap]) -> list[str]:
    return sorted(g.code for g in result)


def test_a_household_meeting_every_part_of_the_standard_has_no_gap() -> None:
    assert gaps(facts()) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"income": 2 * 450_000 - 1}, ["income_below_line"]),
        ({"line": None}, ["no_poverty_line"]),
        ({"grade": "C"}, ["housing_unsafe"]),
        ({"grade": "D"}, ["housing_unsafe"]),
        ({"grade": None}, ["housing_not_appraised"]),
        ({"water": False}, ["unsafe_water"]),
        ({"water": None}, ["water_not_checked"]),
        ({"members": [adult(), adult(insured=False)]}, ["no_medical_insurance"]),
        ({"members": [adult(), adult(born=date(2010, 1, 1), enrolment="dropped_out")]}, ["school_dropout"]),
        ({"members": [adult(), adult(born=date(2010, 1, 1))]}, ["schooling_unknown"]),
    ],
)
def test_each_unmet_part_is_one_gap(change: dict[str, object], expected: list[str]) -> None:
    assert codes(gaps(facts(**change))) == expected


def test_gaps_carry_their_category_and_member() -> None:
    child = adult(born=date(2010, 1, 1), enrolment="dropped_out")
    [gap] = gaps(facts(members=[adult(), child]))
    assert gap.category is ProblemCategory.SCHOOLING and gap.member_id == child.member_id


def test_school_age_is_six_to_fifteen_inclusive() -> None:
    assert age_on(date(2014, 7, 1), ON) == 5 and not is_school_age(date(2014, 7, 1), ON)
    assert is_school_age(date(2014, 6, 30), ON)  # sixth birthday today
    assert is_school_age(date(2004, 7, 1), ON)  # 15, sixteen tomorrow
    assert not is_school_age(date(2004, 6, 30), ON)


def test_exempt_and_enrolled_children_meet_the_schooling_guarantee() -> None:
    children = [adult(born=date(2010, 1, 1), enrolment="enrolled"), adult(born=date(2011, 1, 1), enrolment="exempt")]
    assert gaps(facts(members=[adult(), *children], income=4 * 450_000)) == []


def test_per_capita_income_rounds_down_to_the_fen() -> None:
    assert per_capita_fen(1_000_001, 3) == 333_333
    assert per_capita_fen(500, 0) == 0
    assert codes(gaps(facts(income=899_999))) == ["income_below_line"]  # 449,999.5 fen per person


ALL = list(HouseholdStatus)


@pytest.mark.parametrize(("current", "target"), list(product(ALL, ALL)))
def test_only_listed_transitions_are_possible(current: S, target: S) -> None:
    allowed = target in lifecycle.TRANSITIONS[current]
    open_episode = target == S.MONITORED
    evidence = [Gap("income_below_line", ProblemCategory.INCOME)] if target == S.RELAPSED else []
    if allowed:
        lifecycle.check_transition(current, target, gaps=evidence, open_episode=open_episode)
    else:
        with pytest.raises(RuleViolation):
            lifecycle.check_transition(current, target, gaps=evidence, open_episode=open_episode)


def test_exit_is_refused_while_any_gap_remains_and_the_gaps_are_named() -> None:
    found = [Gap("housing_unsafe", ProblemCategory.HOUSING), Gap("income_below_line", ProblemCategory.INCOME)]
    with pytest.raises(RuleViolation) as caught:
        lifecycle.check_transition(S.IN_POVERTY, S.EXITED_RECEIVING_POLICIES, gaps=found, open_episode=False)
    assert caught.value.extensions["gaps"] == ["housing_unsafe", "income_below_line"]


def test_policies_resume_for_an_exited_household_with_a_gap_but_do_not_stop_for_one() -> None:
    found = [Gap("housing_unsafe", ProblemCategory.HOUSING)]
    lifecycle.check_transition(S.EXITED_NO_POLICIES, S.EXITED_RECEIVING_POLICIES, gaps=found, open_episode=False)
    with pytest.raises(RuleViolation, match="exit standard"):
        lifecycle.check_transition(S.EXITED_RECEIVING_POLICIES, S.EXITED_NO_POLICIES, gaps=found, open_episode=False)
    with pytest.raises(RuleViolation, match="exit standard"):
        lifecycle.check_transition(S.RELAPSED, S.EXITED_RECEIVING_POLICIES, gaps=found, open_episode=False)


@pytest.mark.parametrize(
    ("on", "last_change", "effective"),
    [
        (date(2020, 5, 3), None, date(2020, 5, 3)),  # the cause's own date
        (date(2018, 2, 3), None, date(2020, 1, 1)),  # an earlier year's cause takes effect this year
        (date(2020, 3, 1), date(2020, 4, 1), date(2020, 4, 1)),  # never before the last change
        (date(2020, 9, 1), None, date(2020, 6, 30)),  # nor after today
    ],
)
def test_a_change_the_rules_cause_takes_effect_in_order(on: date, last_change: date | None, effective: date) -> None:
    assert lifecycle.effective_date(on, today=date(2020, 6, 30), last_change=last_change) == effective


def test_monitoring_is_only_through_an_open_episode_and_blocks_other_moves() -> None:
    with pytest.raises(RuleViolation, match="open monitoring episode"):
        lifecycle.check_transition(S.EXITED_NO_POLICIES, S.MONITORED, gaps=[], open_episode=False)
    with pytest.raises(RuleViolation, match="close it"):
        lifecycle.check_transition(S.MONITORED, S.EXITED_RECEIVING_POLICIES, gaps=[], open_episode=True)
    lifecycle.check_transition(S.MONITORED, S.EXITED_RECEIVING_POLICIES, gaps=[], open_episode=False)


def test_relapse_needs_evidence() -> None:
    with pytest.raises(RuleViolation, match="relapses only"):
        lifecycle.check_transition(S.EXITED_RECEIVING_POLICIES, S.RELAPSED, gaps=[], open_episode=False)


def test_income_flags_watch_exited_and_monitored_households_only() -> None:
    under = LINE.monitoring_threshold_fen - 1
    assert monitoring.income_flag_due(S.EXITED_RECEIVING_POLICIES, under, LINE)
    assert monitoring.income_flag_due(S.MONITORED, under, LINE)
    assert not monitoring.income_flag_due(S.EXITED_NO_POLICIES, LINE.monitoring_threshold_fen, LINE)
    assert not monitoring.income_flag_due(S.IN_POVERTY, 0, LINE)
    assert not monitoring.income_flag_due(S.EXITED_NO_POLICIES, 0, None)


def test_medical_cost_flags_once_when_the_yearly_total_crosses_the_threshold() -> None:
    assert not monitoring.medical_flag_due(0, 999, 1000)
    assert monitoring.medical_flag_due(999, 1, 1000)
    assert monitoring.medical_flag_due(0, 5000, 1000)
    assert not monitoring.medical_flag_due(1000, 5000, 1000)  # already over: flagged before


def test_disability_is_new_only_when_there_was_none() -> None:
    assert monitoring.disability_is_new(None, "physical")
    assert not monitoring.disability_is_new("physical", "visual")
    assert not monitoring.disability_is_new(None, None)


def test_risk_is_eliminated_only_after_a_measure_and_without_income_risk() -> None:
    eliminated = EpisodeDecision.RISK_ELIMINATED
    with pytest.raises(RuleViolation, match="help measure"):
        monitoring.check_closing(eliminated, measure_count=0, income_risk_remains=False)
    with pytest.raises(RuleViolation, match="monitoring margin"):
        monitoring.check_closing(eliminated, measure_count=1, income_risk_remains=True)
    monitoring.check_closing(eliminated, measure_count=1, income_risk_remains=False)
    monitoring.check_closing(EpisodeDecision.RELAPSED, measure_count=0, income_risk_remains=True)


def test_c_and_d_houses_get_a_renovation_deadline() -> None:
    assert housing.renovation_deadline("D", ON, None, 90) == date(2020, 9, 28)
    assert housing.renovation_deadline("C", ON, date(2020, 7, 31), 90) == date(2020, 7, 31)
    assert housing.renovation_deadline("A", ON, None, 90) is None
    with pytest.raises(InvalidInput):
        housing.renovation_deadline("B", ON, date(2020, 7, 31), 90)
    with pytest.raises(InvalidInput):
        housing.renovation_deadline("D", ON, date(2020, 1, 1), 90)


def test_a_graded_visit_adds_the_unsafe_house_once() -> None:
    noted = [ProblemNoted(ProblemCategory.SCHOOLING, "school_dropout", "out of school")]
    assert [p.code for p in problems_from_visit(noted, "D")] == ["school_dropout", "housing_unsafe"]
    assert [p.code for p in problems_from_visit(noted, "B")] == ["school_dropout"]


def test_member_facts_that_contradict_each_other() -> None:
    assert fact_errors({}) == []
    assert fact_errors({"disability_type": "physical"}) == ["disability type, grade and certificate date go together"]
    assert fact_errors({"chronic_disease": "高血压"}) == ["a chronic disease and its approval date go together"]
    assert fact_errors({"premium_subsidised": True, "medical_insured": False}) == [
        "a subsidised premium needs basic medical insurance"
    ]
    born = {"birth_date": date(2015, 5, 1)}
    certified = {"disability_type": "physical", "disability_grade": 2, "disability_certified_on": date(2015, 4, 30)}
    approved = {"chronic_disease": "哮喘", "chronic_disease_approved_on": date(1999, 1, 1)}
    assert fact_errors({**born, **certified, **approved}) == [
        "a disability cannot be certified before the member was born",
        "a chronic disease cannot be approved before the member was born",
    ]
    assert fact_errors({**born, **certified, "disability_certified_on": date(2015, 5, 1)}) == []


def test_history_diff_keeps_only_changed_fields() -> None:
    assert history.diff({"a": 1, "b": date(2020, 1, 1)}, {"a": 1, "b": date(2020, 1, 2)}) == {
        "b": ["2020-01-01", "2020-01-02"]
    }


def test_cursors_round_trip_and_garbage_is_a_422() -> None:
    assert decode_cursor(encode_cursor(["CP-1"]), arity=1) == ["CP-1"]
    for garbage in ("%%%", encode_cursor(["a", "b"]), "bm90IGpzb24="):
        with pytest.raises(InvalidInput):
            decode_cursor(garbage, arity=1)
    assert parse_cursor(encode_cursor(["2020-01-01", str(UUID(int=1))]), date_key, uuid_key) == (
        date(2020, 1, 1),
        UUID(int=1),
    )


@pytest.mark.parametrize(
    ("key", "fields"),
    [
        (["x"], (int_key,)),
        ([10**30], (int_key,)),
        ([-1], (int_key,)),
        ([True], (int_key,)),
        ([1.5], (int_key,)),
        ([5], (text_key,)),
        (["x" * 1000], (text_key,)),
        (["2020-01-01", 5], (date_key, uuid_key)),
        ([["2020-01-01"], str(UUID(int=1))], (date_key, uuid_key)),
        (["2020-01-01", {"a": 1}], (date_key, uuid_key)),
    ],
)
def test_a_crafted_cursor_is_a_422_whatever_its_parts(key: list[Any], fields: tuple[Any, ...]) -> None:
    with pytest.raises(InvalidInput):
        parse_cursor(encode_cursor(key), *fields)


def test_a_page_has_a_cursor_only_when_more_rows_follow() -> None:
    items, cursor = page_of([1, 2, 3], 2, lambda n: [n])
    assert items == [1, 2] and decode_cursor(cursor or "", arity=1) == [2]
    assert page_of([1, 2], 2, lambda n: [n]) == ([1, 2], None)


@pytest.mark.parametrize(
    ("on", "last_change", "error"),
    [
        (date(2026, 3, 1), None, None),
        (date(2026, 3, 1), date(2026, 3, 1), None),
        (date(2025, 12, 31), None, InvalidInput),  # an earlier year: judged on this year's facts, so refused
        (date(2026, 7, 2), None, InvalidInput),  # the future
        (date(2026, 2, 1), date(2026, 3, 1), RuleViolation),  # before the last change
    ],
)
def test_a_status_change_is_dated_within_this_year_and_after_the_last_one(
    on: date, last_change: date | None, error: type[Exception] | None
) -> None:
    today = date(2026, 7, 1)
    if error is None:
        lifecycle.check_effective_on(on, today=today, last_change=last_change)
    else:
        with pytest.raises(error):
            lifecycle.check_effective_on(on, today=today, last_change=last_change)


def test_a_date_after_today_is_a_422_naming_the_field_as_the_request_validation_did() -> None:
    ensure_happened(ON, {"visited_on": ON, "birth_date": None})  # today, or not given: fine
    with pytest.raises(InvalidInput) as caught:
        ensure_happened(ON, {"visited_on": date(2020, 7, 1), "members.0.birth_date": ON, "taken_on": date(2021, 1, 1)})
    [visited, taken] = caught.value.extensions["errors"]
    assert visited == {
        "field": "body.visited_on",
        "message": "date must be between 1900 and today",
        "code": "date_in_future",
    }
    assert taken["field"] == "body.taken_on"

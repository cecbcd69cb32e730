"""The pure rules of a cycle: its steps, separation of duties, the notice window, objections, funds, judging."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import pytest

from services.subsidies.rules.cycles import (
    ALLOWED_FROM,
    CycleStep,
    Judge,
    check_funds,
    check_notice_window,
    check_objection_day,
    ensure_listed_any,
    ensure_notice_ended,
    ensure_objections_settled,
    ensure_separation,
    ensure_step,
    judge,
    upheld_reason,
    withdrawal_reason,
)
from services.subsidies.rules.eligibility import HolderFacts
from services.subsidies.rules.vocabulary import CycleStatus, holder_key
from shared.errors import Conflict, Forbidden, InvalidInput

S = CycleStatus
DAY = date(2020, 6, 10)
HOUSEHOLD = UUID(int=1)
DIBAO = [
    {"fact": "household.allowance", "op": "eq", "value": "dibao"},
    {"fact": "household.status", "op": "ne", "value": "exited_no_policies"},
]


class Version:
    def __init__(self, rule: list[dict[str, Any]], amount_fen: int, per_member: bool) -> None:
        self.rule, self.amount_fen, self.per_member = rule, amount_fen, per_member


def _facts(**values: object) -> HolderFacts:
    base: dict[str, object] = {"household.allowance": "dibao", "household.status": "in_poverty"}
    return HolderFacts(HOUSEHOLD, None, "371523101201", base | values)


def _codes(exc: pytest.ExceptionInfo[Any]) -> list[str]:
    return [e["code"] for e in exc.value.extensions["errors"]]


@pytest.mark.parametrize(
    ("step", "allowed"),
    [
        (CycleStep.COMPUTE, {S.DRAFT, S.COMPUTED, S.ON_NOTICE}),
        (CycleStep.POST_NOTICE, {S.COMPUTED}),
        (CycleStep.RAISE_OBJECTION, {S.ON_NOTICE}),
        (CycleStep.DECIDE_OBJECTION, {S.ON_NOTICE}),
        (CycleStep.SUBMIT, {S.ON_NOTICE}),
        (CycleStep.APPROVE, {S.SUBMITTED}),
        (CycleStep.MARK_PAID, {S.APPROVED}),
        (CycleStep.CLOSE, {S.APPROVED, S.PAID}),
    ],
)
def test_each_step_is_taken_from_its_statuses_only(step: CycleStep, allowed: set[CycleStatus]) -> None:
    assert ALLOWED_FROM[step] == allowed
    for status in CycleStatus:
        if status in allowed:
            ensure_step(status, step)
        else:
            with pytest.raises(Conflict) as exc:
                ensure_step(status, step)
            assert exc.value.extensions == {"code": "cycle_state", "cycle_status": status}
            assert status.value in exc.value.detail


@pytest.mark.parametrize(
    ("submitted_by", "computed_by"), [("chief", "clerk"), ("clerk", "chief"), ("chief", "chief"), ("clerk", " Chief ")]
)
def test_whoever_computed_or_submitted_may_not_approve(submitted_by: str, computed_by: str) -> None:
    with pytest.raises(Forbidden) as exc:
        ensure_separation("chief", submitted_by=submitted_by, computed_by=computed_by)
    assert exc.value.extensions == {"code": "separation_of_duties"}


def test_a_third_person_approves() -> None:
    ensure_separation("director", submitted_by="clerk", computed_by="clerk")


def test_a_notice_of_exactly_the_minimum_days_starting_today_is_accepted() -> None:
    check_notice_window(DAY, date(2020, 6, 16), today=DAY, notice_days=7)


@pytest.mark.parametrize(
    ("starts_on", "ends_on", "codes"),
    [
        (date(2020, 6, 9), date(2020, 6, 20), ["notice_in_past"]),
        (DAY, date(2020, 6, 15), ["notice_too_short"]),
        (DAY, date(2020, 6, 1), ["notice_too_short"]),
        (date(2020, 6, 1), date(2020, 6, 3), ["notice_in_past", "notice_too_short"]),
    ],
)
def test_a_notice_starts_today_or_later_and_lasts_the_minimum(starts_on: date, ends_on: date, codes: list[str]) -> None:
    with pytest.raises(InvalidInput) as exc:
        check_notice_window(starts_on, ends_on, today=DAY, notice_days=7)
    assert _codes(exc) == codes


@pytest.mark.parametrize("raised_on", [date(2020, 6, 3), date(2020, 6, 6), date(2020, 6, 9)])
def test_an_objection_is_raised_within_the_window(raised_on: date) -> None:
    check_objection_day(raised_on, starts_on=date(2020, 6, 3), ends_on=date(2020, 6, 9), today=DAY)


@pytest.mark.parametrize(
    ("raised_on", "today", "code"),
    [
        (date(2020, 6, 2), DAY, "outside_notice_window"),
        (date(2020, 6, 11), date(2020, 6, 20), "outside_notice_window"),
        (date(2020, 6, 5), date(2020, 6, 4), "raised_in_future"),
    ],
)
def test_an_objection_outside_the_window_or_in_the_future_is_refused(raised_on: date, today: date, code: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        check_objection_day(raised_on, starts_on=date(2020, 6, 3), ends_on=date(2020, 6, 10), today=today)
    assert _codes(exc) == [code]


def test_a_list_is_submitted_from_the_day_after_its_notice_ends() -> None:
    ensure_notice_ended(date(2020, 6, 9), today=DAY)
    for today in (date(2020, 6, 9), date(2020, 6, 1)):
        with pytest.raises(InvalidInput) as exc:
            ensure_notice_ended(date(2020, 6, 9), today=today)
        assert _codes(exc) == ["notice_not_ended"]


def test_undecided_and_recompute_awaiting_objections_are_each_named() -> None:
    ensure_objections_settled([], [])
    with pytest.raises(InvalidInput) as exc:
        ensure_objections_settled([UUID(int=1), UUID(int=2)], [UUID(int=3)])
    errors = exc.value.extensions["errors"]
    assert [e["code"] for e in errors] == ["objection_undecided", "objection_undecided", "recompute_needed"]
    assert errors[2]["field"] == f"objections.{UUID(int=3)}"


def test_an_empty_list_is_not_posted() -> None:
    ensure_listed_any(1)
    with pytest.raises(InvalidInput) as exc:
        ensure_listed_any(0)
    assert _codes(exc) == ["nothing_listed"]


def test_funds_cover_the_list_up_to_the_last_fen() -> None:
    check_funds(1_000, 1_000)
    with pytest.raises(InvalidInput) as exc:
        check_funds(1_001, 1_000)
    assert _codes(exc) == ["insufficient_funds"]
    assert (exc.value.extensions["total_fen"], exc.value.extensions["available_fen"]) == (1_001, 1_000)


def test_a_per_member_standard_is_paid_for_each_living_member() -> None:
    judged = judge(Version(DIBAO, 25_800, True), _facts(**{"household.member_count": 3}))
    assert judged.listed and judged.amount_fen == 77_400
    assert judged.decision.entitled and len(judged.decision.explanation()) == 3  # the living check, then the rule's


def test_a_flat_standard_is_paid_once() -> None:
    assert judge(Version(DIBAO, 150_000, False), _facts(**{"household.member_count": 3})).amount_fen == 150_000


def test_a_holder_the_rule_does_not_entitle_is_not_listed_and_the_failed_condition_is_the_reason() -> None:
    judged = judge(Version(DIBAO, 25_800, True), _facts(**{"household.allowance": "none"}))
    assert not judged.listed and judged.amount_fen == 0
    reason = withdrawal_reason(judged.decision)
    assert reason.startswith("no longer entitled when re-checked at approval: household.allowance is none")


def test_a_household_with_no_living_member_is_not_entitled_whatever_its_rule() -> None:
    for version in (Version(DIBAO, 25_800, True), Version(DIBAO, 150_000, False)):
        judged = judge(version, _facts(**{"household.member_count": 0}))
        assert not judged.decision.entitled and not judged.listed and judged.amount_fen == 0
        assert judged.decision.checks[0].reason == "household.member_count is 0 (must be over 0): not met"
        assert withdrawal_reason(judged.decision).endswith("household.member_count is 0 (must be over 0): not met")


def test_a_per_member_standard_with_living_members_unknown_lists_nobody() -> None:
    judged = judge(Version(DIBAO, 25_800, True), _facts(**{"household.member_count": None}))
    assert judged.decision.entitled and not judged.listed
    assert withdrawal_reason(judged.decision).endswith("no living member to pay for")


def test_a_holder_key_is_the_member_or_a_dash_for_the_household() -> None:
    assert holder_key(None) == "-"
    assert holder_key(UUID(int=7)) == str(UUID(int=7))


def test_an_upheld_objection_names_itself_as_the_reason() -> None:
    assert str(UUID(int=9)) in upheld_reason(UUID(int=9))


def test_a_judge_decides_once_for_holders_alike_and_apart_for_others() -> None:
    judge = Judge(Version(DIBAO, 25_800, True))
    first = judge(_facts(**{"household.member_count": 3, "household.housing_grade": "D"}))
    alike = judge(_facts(**{"household.member_count": 3, "household.housing_grade": "A"}))  # not read by the rule
    assert alike is first
    bigger = judge(_facts(**{"household.member_count": 4}))
    assert bigger is not first and bigger.amount_fen == 4 * 25_800
    off = judge(_facts(**{"household.allowance": "none", "household.member_count": 3}))
    assert not off.listed and off.explanation == off.decision.explanation()


def test_a_judge_tells_the_dead_from_the_living_whatever_its_rule_reads() -> None:
    flat = Judge(Version(DIBAO, 150_000, False))  # reads no member count of its own
    assert flat(_facts(**{"household.member_count": 2})).listed
    assert not flat(_facts(**{"household.member_count": 0})).listed
    students = Judge(Version([{"fact": "member.enrolment", "op": "eq", "value": "enrolled"}], 150_000, False))
    living, dead = ({"member.enrolment": "enrolled", "member.alive": alive} for alive in (True, False))
    assert students(HolderFacts(HOUSEHOLD, UUID(int=5), "371523101201", living)).listed
    assert not students(HolderFacts(HOUSEHOLD, UUID(int=5), "371523101201", dead)).listed


def test_a_judge_reads_sets_of_codes_and_forgets_beyond_its_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    rule = [{"fact": "household.risk_kinds", "op": "contains", "value": "large_medical_expense"}]
    judge = Judge(Version(rule, 100_000, False))
    assert judge(_facts(**{"household.risk_kinds": ["large_medical_expense"]})).listed
    assert not judge(_facts(**{"household.risk_kinds": []})).listed
    monkeypatch.setattr(Judge, "MEMORY", 2)
    assert judge(_facts(**{"household.risk_kinds": ["disaster"]})).amount_fen == 0
    assert len(judge._known) == 1  # the memory was full: it started again

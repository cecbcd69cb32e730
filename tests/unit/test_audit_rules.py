"""Audit's rules, tested as plain functions: severity, owner, deadline, referral."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.audit.rules import DeadlinePolicy, ProblemFacts, classify, owner_for, referral_reason_at_opening
from shared.contracts.audit import Severity, SubjectKind
from shared.contracts.households import ProblemCategory

OPENED = datetime(2020, 5, 1, 8, tzinfo=UTC)


def facts(code: str, category: ProblemCategory = ProblemCategory.HOUSING, grade: str | None = None) -> ProblemFacts:
    return ProblemFacts(
        subject_kind=SubjectKind.HOUSEHOLD,
        subject_id="h1",
        area_code="371523101201",
        category=category,
        code=code,
        description="-",
        source_ref="p1",
        housing_grade=grade,
    )


@pytest.mark.parametrize(
    ("problem", "severity"),
    [
        (facts("housing_unsafe", grade="D"), Severity.SEVERE),
        (facts("housing_unsafe", grade="C"), Severity.SERIOUS),
        (facts("school_dropout", ProblemCategory.SCHOOLING), Severity.SERIOUS),
        (facts("unsafe_water", ProblemCategory.WATER), Severity.SERIOUS),
        (facts("misused_funds", ProblemCategory.FUNDS), Severity.SERIOUS),
        (facts("file_incomplete", ProblemCategory.POLICY_DELIVERY), Severity.GENERAL),
    ],
)
def test_classify(problem: ProblemFacts, severity: Severity) -> None:
    assert classify(problem) is severity


def test_deadline_by_severity_is_configurable() -> None:
    policy = DeadlinePolicy(general_days=30, serious_days=10, severe_days=3)
    assert policy.deadline(Severity.SEVERE, OPENED) == datetime(2020, 5, 4, 8, tzinfo=UTC)
    assert policy.deadline(Severity.SERIOUS, OPENED) == datetime(2020, 5, 11, 8, tzinfo=UTC)
    assert policy.deadline(Severity.GENERAL, OPENED) == datetime(2020, 5, 31, 8, tzinfo=UTC)


def test_owner_is_the_township_office_of_the_subject() -> None:
    assert owner_for(facts("school_dropout")) == "township_office:371523101"


def test_only_severe_findings_are_referred_at_once() -> None:
    assert referral_reason_at_opening(Severity.SEVERE) == "severe_finding"
    assert referral_reason_at_opening(Severity.SERIOUS) is None
    assert referral_reason_at_opening(Severity.GENERAL) is None

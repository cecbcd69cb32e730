"""Audit's rules, tested as plain functions: severity, owner, deadline, referral, weeks, campaign scope."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from services.audit.rules.campaigns import campaign_covers, check_campaign_scope
from services.audit.rules.findings import DeadlinePolicy, ProblemFacts, classify, owner_for
from services.audit.rules.periods import IsoWeek
from services.audit.rules.rates import RectificationRate
from services.audit.rules.referrals import referral_reason_at_opening
from shared.contracts.audit import CampaignKind, ScopeLevel, Severity, SubjectKind
from shared.contracts.households import ProblemCategory
from shared.errors import InvalidInput

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


def test_an_inspector_may_raise_severity_but_not_lower_it() -> None:
    raised = replace(facts("file_incomplete", ProblemCategory.POLICY_DELIVERY), stated_severity=Severity.SERIOUS)
    lowered = replace(facts("housing_unsafe", grade="D"), stated_severity=Severity.GENERAL)
    assert classify(raised) is Severity.SERIOUS
    assert classify(lowered) is Severity.SEVERE


@pytest.mark.parametrize(
    ("moment", "label"),
    [
        (datetime(2020, 5, 10, 15, 59, tzinfo=UTC), "2020-W19"),  # Sunday 23:59 in the district
        (datetime(2020, 5, 10, 16, 0, tzinfo=UTC), "2020-W20"),  # Monday 00:00 in the district
        (datetime(2021, 1, 1, 0, 0, tzinfo=UTC), "2020-W53"),  # 2020 has 53 ISO weeks
    ],
)
def test_iso_week_follows_the_district_calendar(moment: datetime, label: str) -> None:
    assert IsoWeek.of(moment).label == label


def test_iso_week_bounds_are_shanghai_midnights() -> None:
    week = IsoWeek.parse("2020-W20")
    assert (week.monday, week.sunday) == (date(2020, 5, 11), date(2020, 5, 17))
    assert week.starts_at == datetime(2020, 5, 10, 16, tzinfo=UTC)
    assert week.ends_at == datetime(2020, 5, 17, 16, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2020-20", "2020-W1", "2019-W53", "2020-W00", "W20-2020"])
def test_iso_week_refuses_what_is_not_a_week(text: str) -> None:
    with pytest.raises(InvalidInput):
        IsoWeek.parse(text)


@pytest.mark.parametrize(
    ("kind", "level", "code"),
    [
        (CampaignKind.TARGETED_SUPERVISION, ScopeLevel.DISTRICT, "371523"),  # 挂牌督战 is of one township
        (CampaignKind.SELF_ASSESSMENT, ScopeLevel.TOWNSHIP, "3715231"),
        (CampaignKind.SELF_ASSESSMENT, ScopeLevel.VILLAGE, "371523101"),
        (CampaignKind.DEPARTMENT_VERIFICATION, ScopeLevel.PROJECT, "not-a-project-id"),
    ],
)
def test_campaign_scope_must_be_well_formed(kind: CampaignKind, level: ScopeLevel, code: str) -> None:
    with pytest.raises(InvalidInput):
        check_campaign_scope(kind, level, code)


def test_campaign_covers_its_area_or_its_project() -> None:
    check_campaign_scope(CampaignKind.TARGETED_SUPERVISION, ScopeLevel.TOWNSHIP, "371523101")
    assert campaign_covers(ScopeLevel.TOWNSHIP, "371523101", area_code="371523101201", subject_id="h1")
    assert not campaign_covers(ScopeLevel.TOWNSHIP, "371523101", area_code="371523105201", subject_id="h1")
    assert campaign_covers(ScopeLevel.PROJECT, "p-1", area_code="371523105201", subject_id="p-1")
    assert not campaign_covers(ScopeLevel.PROJECT, "p-1", area_code="371523105201", subject_id="p-2")


def test_the_rectification_rate_is_exact_to_four_places() -> None:
    from decimal import Decimal

    rate = RectificationRate(township="371523101", category="housing", findings=3, closed=2, average_days_to_close=4.5)
    assert rate.rate == Decimal("0.6667")

"""Project rules without a database: areas, periods, inspection dates, repeated problem codes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.projects.rules import dates
from services.projects.rules.inspections import repeated_codes
from shared.areas import township_or_village
from shared.timeutil import district_today, period_start

TODAY = date(2020, 6, 15)


def test_district_today_is_the_shanghai_calendar_day() -> None:
    late_evening_utc = datetime(2020, 6, 30, 17, 30, tzinfo=UTC)  # 01:30 on 1 July in Shanghai
    assert district_today(late_evening_utc) == date(2020, 7, 1)
    assert district_today(datetime(2020, 6, 30, 15, 59, tzinfo=UTC)) == date(2020, 6, 30)


@pytest.mark.parametrize("code", ["371523101", "371523101201"])
def test_projects_sit_in_a_township_or_a_village(code: str) -> None:
    assert township_or_village(code) == code


@pytest.mark.parametrize("code", ["371523", "3715231012", "37152310120a", "", "3715231012011"])
def test_other_area_codes_are_refused(code: str) -> None:
    with pytest.raises(ValueError, match="township or 12-digit village"):
        township_or_village(code)


@pytest.mark.parametrize(("period", "start"), [("2020-01", date(2020, 1, 1)), ("2019-12", date(2019, 12, 1))])
def test_period_start(period: str, start: date) -> None:
    assert period_start(period) == start


@pytest.mark.parametrize("period", ["2020-13", "2020-00", "2020-1", "202006", "2020-06-01", "June"])
def test_malformed_periods_are_refused(period: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        period_start(period)


def test_income_may_be_recorded_for_the_current_and_past_months() -> None:
    assert dates.period_begun("2020-06", today=TODAY)
    assert dates.period_begun("2016-01", today=TODAY)


def test_income_for_a_month_not_yet_begun_is_refused() -> None:
    assert not dates.period_begun("2020-07", today=TODAY)


def test_inspection_dates_up_to_today_are_accepted() -> None:
    assert not dates.in_future(TODAY, today=TODAY)
    assert dates.in_future(date(2020, 6, 16), today=TODAY)


def test_a_project_starts_within_a_year_of_its_registration() -> None:
    assert not dates.starts_too_late(date(2021, 6, 16), today=TODAY)  # 366 days ahead
    assert dates.starts_too_late(date(2021, 6, 17), today=TODAY)


def test_nothing_is_inspected_or_earned_before_the_project_started() -> None:
    started = date(2020, 3, 15)
    assert dates.before_start(date(2020, 3, 14), started_on=started)
    assert not dates.before_start(started, started_on=started)
    assert not dates.period_before_start("2020-03", started_on=started)  # the month it started counts
    assert dates.period_before_start("2020-02", started_on=started)


def test_repeated_codes_are_named_once_in_order() -> None:
    codes = ["roof_damaged", "no_income", "roof_damaged", "a", "a", "a"]
    assert repeated_codes(codes) == ["a", "roof_damaged"]
    assert repeated_codes(["roof_damaged", "no_income"]) == []
    assert repeated_codes([]) == []

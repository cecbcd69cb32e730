"""The posts' payroll and span rules, directly: days held in a month, the pro-rata allowance at the month's edges,
one line per holder, and when a span may end or meets another."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

import pytest

from services.projects.rules.payroll import (
    Holding,
    days_held,
    days_in,
    last_day,
    live_in,
    payroll_lines,
    pro_rata,
)
from services.projects.rules.posts import end_refusal, meets_open_span, within

ALLOWANCE = 50_000  # 500 yuan a month


def holding(
    started_on: date, ended_on: date | None = None, *, member: UUID | None = None, fen: int = ALLOWANCE
) -> Holding:
    return Holding(uuid4(), uuid4(), uuid4(), member or uuid4(), started_on, ended_on, fen)


@pytest.mark.parametrize(
    ("period", "days"), [("2020-06", 30), ("2020-07", 31), ("2020-02", 29), ("2021-02", 28), ("2100-02", 28)]
)
def test_days_in_a_month(period: str, days: int) -> None:
    assert days_in(period) == days


@pytest.mark.parametrize(
    ("started_on", "ended_on", "period", "days", "amount"),
    [
        (date(2020, 3, 1), None, "2020-06", 30, 50_000),  # the whole month: the whole allowance
        (date(2020, 6, 1), date(2020, 6, 30), "2020-06", 30, 50_000),  # both edges of the month included
        (date(2020, 6, 15), None, "2020-06", 16, 26_666),  # from the 15th: 50000 × 16 // 30
        (date(2020, 1, 1), date(2020, 6, 10), "2020-06", 10, 16_666),  # ended the 10th: 50000 × 10 // 30
        (date(2020, 6, 10), date(2020, 6, 10), "2020-06", 1, 1_666),  # one day
        (date(2019, 1, 1), None, "2020-02", 29, 50_000),  # February of a leap year, whole
        (date(2020, 2, 15), None, "2020-02", 15, 25_862),  # 50000 × 15 // 29, rounded down
        (date(2021, 2, 15), None, "2021-02", 14, 25_000),  # 50000 × 14 // 28
        (date(2020, 1, 31), date(2020, 2, 1), "2020-02", 1, 1_724),  # 50000 // 29
        (date(2020, 7, 31), None, "2020-07", 1, 1_612),  # the last day of a 31-day month
    ],
)
def test_the_allowance_is_pro_rata_for_the_days_held_rounded_down(
    started_on: date, ended_on: date | None, period: str, days: int, amount: int
) -> None:
    assert days_held(started_on, ended_on, period) == days
    assert pro_rata(ALLOWANCE, days, days_in(period)) == amount
    [line] = payroll_lines([holding(started_on, ended_on)], period)
    assert (line.days, line.amount_fen) == (days, amount)


@pytest.mark.parametrize(
    ("started_on", "ended_on"),
    [
        (date(2020, 7, 1), None),  # starts after the month
        (date(2020, 1, 1), date(2020, 5, 31)),  # ended the day before it
    ],
)
def test_a_holding_outside_the_month_gets_no_line(started_on: date, ended_on: date | None) -> None:
    assert days_held(started_on, ended_on, "2020-06") == 0
    assert not live_in(started_on, ended_on, "2020-06")
    assert payroll_lines([holding(started_on, ended_on)], "2020-06") == []


def test_a_member_who_changed_posts_within_the_month_gets_one_line_of_both() -> None:
    member = uuid4()
    first = holding(date(2020, 1, 1), date(2020, 6, 10), member=member, fen=60_000)
    second = holding(date(2020, 6, 11), member=member, fen=30_000)
    [line] = payroll_lines([second, first], "2020-06")
    assert line.amount_fen == 60_000 * 10 // 30 + 30_000 * 20 // 30 == 40_000
    assert (line.holding_id, line.post_id, line.days) == (second.holding_id, second.post_id, 30)


def test_every_holder_gets_a_line_and_the_lines_sum_to_the_total() -> None:
    holdings = [holding(date(2020, 6, day)) for day in range(1, 31)]
    lines = payroll_lines(holdings, "2020-06")
    assert len(lines) == 30 and len({line.member_id for line in lines}) == 30
    assert sum(line.amount_fen for line in lines) == sum(ALLOWANCE * (31 - d) // 30 for d in range(1, 31))


def test_a_holder_owed_less_than_a_fen_gets_no_line() -> None:
    assert payroll_lines([holding(date(2020, 6, 30), fen=29)], "2020-06") == []
    assert [line.amount_fen for line in payroll_lines([holding(date(2020, 6, 30), fen=30)], "2020-06")] == [1]


@pytest.mark.parametrize(
    ("started_on", "ended_on", "reason"),
    [
        (date(2020, 6, 1), date(2020, 6, 1), None),  # the first day is also the last
        (date(2020, 6, 1), date(2020, 6, 30), None),  # today
        (date(2020, 6, 2), date(2020, 6, 1), "ends_before_start"),
        (date(2020, 6, 1), date(2020, 7, 1), "end_in_future"),
    ],
)
def test_a_span_ends_after_it_started_and_not_after_today(started_on: date, ended_on: date, reason: str | None) -> None:
    assert end_refusal(started_on, ended_on, today=date(2020, 6, 30)) == reason


@pytest.mark.parametrize(
    ("ended_on", "meets"),
    [(None, True), (date(2020, 6, 11), True), (date(2020, 6, 10), False), (date(2020, 6, 12), True)],
)
def test_an_open_span_meets_every_span_not_ended_before_it_starts(ended_on: date | None, meets: bool) -> None:
    assert meets_open_span(ended_on, starting_on=date(2020, 6, 11)) is meets


def test_a_village_lies_within_its_township_and_not_another() -> None:
    assert within("371523101201", "371523101") and within("371523101201", "371523101201")
    assert not within("371523105203", "371523101") and not within("371523101", "371523101201")


def test_a_holding_lasts_until_it_ends_or_its_holder_dies_whichever_is_first() -> None:
    assert last_day(None, None) is None
    assert last_day(date(2020, 6, 30), None) == date(2020, 6, 30)
    assert last_day(None, date(2020, 6, 10)) == date(2020, 6, 10)
    assert last_day(date(2020, 6, 30), date(2020, 6, 10)) == date(2020, 6, 10)
    assert last_day(date(2020, 5, 31), date(2020, 6, 10)) == date(2020, 5, 31)
    [line] = payroll_lines([holding(date(2020, 1, 1), last_day(None, date(2020, 6, 10)))], "2020-06")
    assert (line.days, line.amount_fen) == (10, ALLOWANCE * 10 // 30)  # the day of death is paid

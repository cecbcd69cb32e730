"""Project rules as plain functions: where a project may be, which dates and periods are acceptable."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, timedelta

from shared.timeutil import period_start


def check_income_period(period: str, *, today: date) -> str:
    """Income (收益) is recorded for a month that has begun, never for a future one."""
    if period_start(period) > today:
        raise ValueError("income cannot be recorded for a period that has not begun")
    return period


def check_inspected_on(inspected_on: date, *, today: date) -> date:
    """An inspection (两看一及时) is recorded after it happened, so its date is not in the future."""
    if inspected_on > today:
        raise ValueError("inspection date cannot be in the future")
    return inspected_on


START_AHEAD = timedelta(days=366)


def check_started_on(started_on: date, *, today: date) -> date:
    """A project is registered once approved (立项): it may start within the coming year, not later. A start far
    ahead would refuse every inspection and income until then."""
    if started_on > today + START_AHEAD:
        raise ValueError("a project registered now starts within a year")
    return started_on


def repeated_codes(codes: Iterable[str]) -> list[str]:
    """Problem codes reported more than once in one inspection, in sorted order."""
    return sorted(code for code, count in Counter(codes).items() if count > 1)

"""Monthly periods (YYYY-MM) of payments and coverage checks, judged against the day given."""

from __future__ import annotations

from datetime import date, timedelta

from shared.timeutil import period_start


def period_begun(period: str, *, today: date) -> bool:
    """A subsidy is paid, and its coverage checked, for a month that has begun, never in advance for a future one."""
    return period_start(period) <= today


def month_span(period: str) -> tuple[date, date]:
    """The first day of the period's month and the first day of the next."""
    first = period_start(period)
    return first, (first.replace(day=28) + timedelta(days=4)).replace(day=1)

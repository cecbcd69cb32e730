"""Which dates and periods a project's records may carry, judged against the day given."""

from __future__ import annotations

from datetime import date, timedelta

from shared.timeutil import period_start

# A project is registered once approved (立项): it may start within the coming year, not later.
START_AHEAD = timedelta(days=366)


def starts_too_late(started_on: date, *, today: date) -> bool:
    """A start far ahead would refuse every inspection and income until then: it is a typing error."""
    return started_on > today + START_AHEAD


def in_future(on: date, *, today: date) -> bool:
    """An inspection (两看一及时) is recorded after it happened, so its date is not in the future."""
    return on > today


def period_begun(period: str, *, today: date) -> bool:
    """Income (收益) is recorded for a month that has begun, never for a future one."""
    return period_start(period) <= today


def before_start(on: date, *, started_on: date) -> bool:
    """Nothing is inspected before a project started."""
    return on < started_on


def period_before_start(period: str, *, started_on: date) -> bool:
    """Nothing is earned before a project started; income for the month it started counts. Income recorded for
    an earlier month would be shared out to households all the same."""
    return period_start(period) < started_on.replace(day=1)

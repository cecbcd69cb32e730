"""Project rules as plain functions: where a project may be, which dates and periods are acceptable."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone

# China has kept UTC+8 without daylight saving since 1991: the district's calendar day (Asia/Shanghai).
DISTRICT_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
MAX_AMOUNT_FEN = 10**12  # 100 million yuan; anything larger is a typing error, not a project

_PROJECT_AREA = re.compile(r"^(\d{9}|\d{12})$")
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def district_today(now: datetime | None = None) -> date:
    """Today's date in the district (Asia/Shanghai), whatever the server's time zone."""
    return (now or datetime.now(DISTRICT_TZ)).astimezone(DISTRICT_TZ).date()


def project_area(code: str) -> str:
    """A project sits in a township (乡镇, 9 digits) or a village (村, 12 digits)."""
    if not _PROJECT_AREA.match(code):
        raise ValueError("must be a 9-digit township or 12-digit village code")
    return code


def period_start(period: str) -> date:
    """The first day of an income period written "YYYY-MM"."""
    match = _PERIOD.match(period)
    if match is None:
        raise ValueError("must be a period written YYYY-MM")
    return date(int(match.group(1)), int(match.group(2)), 1)


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


def repeated_codes(codes: Iterable[str]) -> list[str]:
    """Problem codes reported more than once in one inspection, in sorted order."""
    return sorted(code for code, count in Counter(codes).items() if count > 1)

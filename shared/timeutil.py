"""Timezone-aware UTC in storage, on every database (SQLite drops the offset, so we restore it)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# China has kept UTC+8 without daylight saving since 1991: the district's calendar day (Asia/Shanghai).
DISTRICT_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
# The years every date of the platform falls in (a birth in 1900, a deadline decades ahead).
CALENDAR_YEARS = range(1900, 2200)
# ASCII digits: `\d` takes any script's digits, and "２０２０-06" would be a second June 2020 to pay for.
PERIOD_PATTERN = r"^(19[0-9]{2}|2[01][0-9]{2})-(0[1-9]|1[0-2])$"  # the years of CALENDAR_YEARS
_PERIOD = re.compile(PERIOD_PATTERN)


def utcnow() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(UTC)


def district_today(now: datetime | None = None) -> date:
    """Today's date in the district (Asia/Shanghai), whatever the server's time zone."""
    return (now or datetime.now(DISTRICT_TZ)).astimezone(DISTRICT_TZ).date()


def period_start(period: str) -> date:
    """The first day of a monthly period written "YYYY-MM" (income, subsidy periods)."""
    match = _PERIOD.fullmatch(period)
    if match is None:
        raise ValueError("must be a period written YYYY-MM")
    year = int(match.group(1))
    if year not in CALENDAR_YEARS:
        raise ValueError(f"must be a period of the years {CALENDAR_YEARS.start}-{CALENDAR_YEARS.stop - 1}")
    return date(year, int(match.group(2)), 1)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp column that only accepts and only returns aware UTC datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store aware UTC times")
        return value.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        # PostgreSQL answers a `timestamptz` aware already, so nothing need be called for each value it returns (a
        # list page reads dozens): only SQLite's naive values get their offset back.
        if dialect.name == "postgresql":
            return None
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stored: datetime = value
        return stored if stored.tzinfo else stored.replace(tzinfo=UTC)

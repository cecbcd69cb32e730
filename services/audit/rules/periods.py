"""The district's calendar (Asia/Shanghai): its days, ISO weeks and periods of days, from moments given."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from shared.errors import InvalidInput
from shared.timeutil import CALENDAR_YEARS, DISTRICT_TZ

_ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$", re.ASCII)


def district_day(moment: datetime) -> date:
    """The district's calendar day at `moment` (whatever the server's time zone)."""
    return moment.astimezone(DISTRICT_TZ).date()


def district_span(start: date, end: date) -> tuple[datetime, datetime]:
    """From `start` 00:00 to the end of `end` in the district's calendar, as aware datetimes."""
    if end < start:
        raise InvalidInput("The period ends before it starts.")
    return datetime.combine(start, time(), DISTRICT_TZ), datetime.combine(end + timedelta(days=1), time(), DISTRICT_TZ)


@dataclass(frozen=True, order=True)
class IsoWeek:
    """An ISO week in the district's calendar (Asia/Shanghai), written "2020-W20"."""

    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        match = _ISO_WEEK.fullmatch(text)
        if match is None:
            raise InvalidInput("A week is written like 2020-W20.")
        year, week = int(match.group(1)), int(match.group(2))
        if year not in CALENDAR_YEARS:
            raise InvalidInput(f"A week's year is within {CALENDAR_YEARS.start}-{CALENDAR_YEARS.stop - 1}.")
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError as exc:
            raise InvalidInput(f"{year} has no ISO week {week}.") from exc
        return cls(year, week)

    @classmethod
    def of(cls, moment: datetime) -> IsoWeek:
        """The district week containing `moment`."""
        calendar = moment.astimezone(DISTRICT_TZ).isocalendar()
        return cls(calendar.year, calendar.week)

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 7)

    @property
    def starts_at(self) -> datetime:
        """Monday 00:00 in the district, as an aware datetime."""
        return datetime.combine(self.monday, time(), DISTRICT_TZ)

    @property
    def ends_at(self) -> datetime:
        """The next Monday 00:00 in the district (exclusive end)."""
        return self.starts_at + timedelta(days=7)

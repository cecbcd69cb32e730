"""The period and area a report covers, as the command line names them, and how the district writes them.

`--half 2020-H1`, `--quarter 2020-Q2` or `--from 2020-01-01 --to 2020-06-30` (exactly one), and `--area-code`: the
district (6 digits), one of its townships (9) or villages (12). Bad input raises `PeriodError` with what is wrong.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date

from shared.areas import is_area_code
from shared.reporting import MAX_PERIOD_DAYS
from shared.settings import DEFAULT_DISTRICT_CODE

_HALF = re.compile(r"^(\d{4})-H([12])$", re.ASCII)
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.ASCII)
_QUARTER_NAMES = {1: "第一季度", 2: "第二季度", 3: "第三季度", 4: "第四季度"}


class PeriodError(ValueError):
    """The period or area asked for cannot be reported on; the message says why."""


@dataclass(frozen=True)
class Period:
    """The days reported on (both included), the district's name for them ("2020年上半年") and a short slug for
    file names ("2020-H1")."""

    start: date
    end: date
    label: str
    slug: str

    @property
    def by_end(self) -> str:
        """ "6月底前", or "6月15日前" for a period not ending on a month's last day."""
        if self.end.day == monthrange(self.end.year, self.end.month)[1]:
            return f"{self.end.month}月底前"
        return f"{self.end.month}月{self.end.day}日前"


def _half(text: str) -> Period:
    match = _HALF.fullmatch(text)
    if not match:
        raise PeriodError(f"--half must be YEAR-H1 or YEAR-H2 (e.g. 2020-H1), not {text!r}")
    year, half = _year("--half", match[1]), int(match[2])
    start, end = (date(year, 1, 1), date(year, 6, 30)) if half == 1 else (date(year, 7, 1), date(year, 12, 31))
    return Period(start, end, f"{year}年{'上' if half == 1 else '下'}半年", text)


def _quarter(text: str) -> Period:
    match = _QUARTER.fullmatch(text)
    if not match:
        raise PeriodError(f"--quarter must be YEAR-Q1 to YEAR-Q4 (e.g. 2020-Q2), not {text!r}")
    year, quarter = _year("--quarter", match[1]), int(match[2])
    first_month = 3 * quarter - 2
    end = date(year, first_month + 2, monthrange(year, first_month + 2)[1])
    return Period(date(year, first_month, 1), end, f"{year}年{_QUARTER_NAMES[quarter]}", text)


def _year(option: str, text: str) -> int:
    if int(text) < 1:
        raise PeriodError(f"{option}: there is no year {text}")
    return int(text)


def _day(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"{option} must be a day written YYYY-MM-DD, not {text!r}") from None


def _days(start_text: str, end_text: str | None) -> Period:
    if end_text is None:
        raise PeriodError("--from needs --to (the period's last day, included)")
    start, end = _day("--from", start_text), _day("--to", end_text)
    if end < start:
        raise PeriodError(f"--to ({end}) is before --from ({start})")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise PeriodError(f"a report covers at most {MAX_PERIOD_DAYS} days; {start} to {end} is longer")
    label = f"{start.year}年{start.month}月{start.day}日至{end.year}年{end.month}月{end.day}日"
    return Period(start, end, label, f"{start}_{end}")


def period_of(half: str | None, quarter: str | None, start: str | None, end: str | None) -> Period:
    """The period the options name: exactly one of a half year, a quarter or --from/--to."""
    if sum(x is not None for x in (half, quarter, start)) != 1:
        raise PeriodError("name the period with exactly one of --half, --quarter or --from/--to")
    if end is not None and start is None:
        raise PeriodError("--to goes with --from")
    if half is not None:
        return _half(half)
    if quarter is not None:
        return _quarter(quarter)
    assert start is not None  # one of the three was given
    return _days(start, end)


def area_of(code: str, district: str = DEFAULT_DISTRICT_CODE) -> str:
    """The area code asked for, checked: the district, a township or a village of the district."""
    if not is_area_code(code):
        raise PeriodError(f"--area-code must be a 6-, 9- or 12-digit area code, not {code!r}")
    if not code.startswith(district):
        raise PeriodError(f"--area-code {code} is not the district {district}, one of its townships or villages")
    return code


def area_name(code: str, townships: dict[str, str], district: str = DEFAULT_DISTRICT_CODE) -> str:
    """How the report names its area: "全区" for the district, a township's name when the platform knows it, else
    the code (a village's name is not held)."""
    if code == district:
        return "全区"
    return townships.get(code, code)

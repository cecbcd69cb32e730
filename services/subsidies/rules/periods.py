"""The periods a programme pays for, written by its frequency (发放周期), and whether one has begun.

Monthly and one-off programmes: "YYYY-MM"; termly: "YYYY-S1" (spring term, 1 January - 30 June) or "YYYY-S2"
(autumn term, 1 July - 31 December); yearly: "YYYY". Years are those of `CALENDAR_YEARS` (1900-2199).
"""

from __future__ import annotations

import re
from datetime import date

from services.subsidies.rules.vocabulary import Frequency
from shared.errors import InvalidInput

_YEAR = r"(19[0-9]{2}|2[01][0-9]{2})"
MONTH_PATTERN = rf"^{_YEAR}-(0[1-9]|1[0-2])$"
TERM_PATTERN = rf"^{_YEAR}-S([12])$"
YEAR_PATTERN = rf"^{_YEAR}$"
# Any period of any frequency, as a query parameter or a body field states it before its programme is known.
ANY_PERIOD_PATTERN = rf"^{_YEAR}(-(0[1-9]|1[0-2])|-S[12])?$"

_FORMS: dict[Frequency, tuple[re.Pattern[str], str]] = {
    Frequency.MONTHLY: (re.compile(MONTH_PATTERN), "YYYY-MM"),
    Frequency.ONE_OFF: (re.compile(MONTH_PATTERN), "YYYY-MM"),
    Frequency.TERMLY: (re.compile(TERM_PATTERN), "YYYY-S1 or YYYY-S2"),
    Frequency.YEARLY: (re.compile(YEAR_PATTERN), "YYYY"),
}


def period_form(frequency: Frequency) -> str:
    """How a period of this frequency is written, in words for an error message."""
    return _FORMS[frequency][1]


def period_span(period: str, frequency: Frequency) -> tuple[date, date]:
    """The period's first day and the first day after it; ValueError for a period not written for `frequency`."""
    pattern, form = _FORMS[frequency]
    match = pattern.fullmatch(period)
    if match is None:
        raise ValueError(f"a {frequency.value} period is written {form}")
    year = int(match.group(1))
    if frequency is Frequency.YEARLY:
        return date(year, 1, 1), date(year + 1, 1, 1)
    if frequency is Frequency.TERMLY:
        spring = match.group(2) == "1"
        return (date(year, 1, 1), date(year, 7, 1)) if spring else (date(year, 7, 1), date(year + 1, 1, 1))
    month = int(match.group(2))
    return date(year, month, 1), date(year + month // 12, month % 12 + 1, 1)


def check_period(period: str, frequency: Frequency, *, field: str = "body.period") -> None:
    """InvalidInput naming `field` unless the period is written as its programme's frequency requires."""
    try:
        period_span(period, frequency)
    except ValueError as exc:
        raise InvalidInput(
            f"The period is not one this programme pays for: a {frequency.value} programme's period is written "
            f"{period_form(frequency)}.",
            errors=[{"field": field, "message": str(exc), "code": "period_format"}],
        ) from exc


def period_first_day(period: str) -> date:
    """The first day of a period of any form (YYYY-MM, YYYY-S1/S2, YYYY); ValueError for anything else."""
    for frequency in (Frequency.MONTHLY, Frequency.TERMLY, Frequency.YEARLY):
        if _FORMS[frequency][0].fullmatch(period):
            return period_span(period, frequency)[0]
    raise ValueError("a period is written YYYY-MM, YYYY-S1, YYYY-S2 or YYYY")


def period_year(period: str) -> int:
    """The year a period of any form falls in (its funds are that year's)."""
    return period_first_day(period).year


def period_begun(period: str, *, today: date) -> bool:
    """A subsidy is paid, and its coverage checked, for a period that has begun, never in advance for a future one."""
    return period_first_day(period) <= today

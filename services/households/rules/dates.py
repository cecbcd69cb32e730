"""Dates of what has already happened (a birth, a visit, an appraisal) are not after the day they are recorded on.

Schemas check only what needs no clock (a real date, from 1900 on); the use cases check this rule against the day
they act on, which they are given. A request then fails as its validation would have: a 422 naming each late field
of the body.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from shared.errors import InvalidInput

FIRST_YEAR = 1900
DETAIL = "The request has invalid or missing fields."
MESSAGE = "date must be between 1900 and today"
CODE = "date_in_future"


def late(today: date, dates: Mapping[str, date | None]) -> list[str]:
    """The names of the dates after `today` (a date not given is not late)."""
    return [name for name, value in dates.items() if value is not None and value > today]


def ensure_happened(today: date, dates: Mapping[str, date | None]) -> None:
    """InvalidInput naming, as the request body's fields (`body.<name>`), each of `dates` after `today`."""
    names = late(today, dates)
    if names:
        errors = [{"field": f"body.{name}", "message": MESSAGE, "code": CODE} for name in names]
        raise InvalidInput(DETAIL, errors=errors)

"""The one base of every request body (and department data row): strict about what a client may send."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from functools import cache
from typing import Annotated, Any, get_args

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    FutureDate,
    FutureDatetime,
    NaiveDatetime,
    PastDate,
    PastDatetime,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from shared.timeutil import CALENDAR_YEARS

# Pydantic's own date and time types are classes of their own, not subclasses of `date`.
_PYDANTIC_TEMPORAL = (AwareDatetime, FutureDate, FutureDatetime, NaiveDatetime, PastDate, PastDatetime)


_NOT_A_TIMESTAMP = "a date or time is written as ISO 8601 text (2020-05-12, 2020-05-12T08:00:00+08:00)"


def refuse_timestamps(value: Any) -> Any:
    """Pydantic reads 0, 1589241600 and "1589241600" as seconds since 1970 (`"visited_on": 0` was stored as
    a visit on 1970-01-01); a client that sends a number for a date has a bug, and is told so."""
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        raise ValueError(_NOT_A_TIMESTAMP)
    return value


def within_calendar(value: Any) -> Any:
    """A date or time in the years the platform's records fall in: day arithmetic in the district's time zone
    overflows at the ends of Python's calendar (9999-12-31 + 1 day, 0001-01-01 in UTC+8 as UTC)."""
    if isinstance(value, date | datetime) and value.year not in CALENDAR_YEARS:
        raise ValueError(f"must fall in the years {CALENDAR_YEARS.start}-{CALENDAR_YEARS.stop - 1}")
    return value


# A date in a query parameter (request bodies get the same rules from `RequestBody`).
IsoDate = Annotated[date, BeforeValidator(refuse_timestamps), AfterValidator(within_calendar)]

# C0 controls but tab, line feed and carriage return, and DEL: PostgreSQL refuses NUL in text (a 500 where SQLite
# stored it), and none belongs in a name, a note or a code.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def refuse_control_characters(value: Any) -> Any:
    """Text, also inside lists and mappings, must hold no control character (tab and line breaks excepted)."""
    if isinstance(value, str):
        if _CONTROL.search(value):
            raise ValueError("text must not contain control characters (such as NUL)")
    elif isinstance(value, list | tuple):
        for item in value:
            refuse_control_characters(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            refuse_control_characters(key)
            refuse_control_characters(item)
    return value


# Free text in a query or a path (a subject's id, an owner): bodies get the same rule from `RequestBody`.
QueryText = Annotated[str, StringConstraints(max_length=200), AfterValidator(refuse_control_characters)]


class RequestBody(BaseModel):
    """Unknown fields are errors, surrounding blanks are trimmed, text holds no control character, and a date
    or a time is written as text."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _plain_values(cls, value: Any, info: ValidationInfo) -> Any:
        value = refuse_control_characters(value)
        return refuse_timestamps(value) if info.field_name in _temporal_fields(cls) else value

    @field_validator("*", mode="after")
    @classmethod
    def _dates_within_calendar(cls, value: Any) -> Any:
        return within_calendar(value)


@cache
def _temporal_fields(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(name for name, field in model.model_fields.items() if _is_temporal(field.annotation))


def _is_temporal(annotation: Any) -> bool:
    if isinstance(annotation, type):
        return issubclass(annotation, date | time) or annotation in _PYDANTIC_TEMPORAL  # datetime is a date
    return any(_is_temporal(arg) for arg in get_args(annotation))  # `date | None`, Annotated[date, ...]

"""The one base of every request body (and department data row): strict about what a client may send."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from functools import cache
from typing import Annotated, Any, ClassVar, get_args

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
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


# A date in a query parameter (request bodies get the same rules from `RequestBody`); the pattern states the years.
_CALENDAR_DATE = r"^(19[0-9]{2}|2[01][0-9]{2})-"  # CALENDAR_YEARS, as a date's or a time's first characters
IsoDate = Annotated[
    date,
    BeforeValidator(refuse_timestamps),
    AfterValidator(within_calendar),
    Field(json_schema_extra={"pattern": _CALENDAR_DATE}),
]

# A monthly period (收益, 补贴) in a request body: YYYY-MM in the years of CALENDAR_YEARS (1900-2199), stated by the
# pattern so that the OpenAPI document shows the whole rule ("0465-08" is written like a month but is none to pay
# for). Whether it has begun depends on the day, so the use case checks that.
Period = Annotated[str, Field(pattern=r"^(19[0-9]{2}|2[01][0-9]{2})-(0[1-9]|1[0-2])$", examples=["2020-06"])]

# C0 controls but tab, line feed and carriage return, and DEL: PostgreSQL refuses NUL in text (a 500 where SQLite
# stored it), and none belongs in a name, a note or a code.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# The same rules as JSON Schema patterns, so that the OpenAPI document states them (`_state_text_rules`).
NO_CONTROL_CHARACTERS = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
# Blanks are trimmed before lengths are checked: a required text must hold more than blanks.
NOT_BLANK = r"^(?!\s*$)[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


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
QueryText = Annotated[
    str, StringConstraints(max_length=200, pattern=NO_CONTROL_CHARACTERS), AfterValidator(refuse_control_characters)
]


_BOUNDS = {"ge": "minimum", "gt": "exclusiveMinimum", "le": "maximum", "lt": "exclusiveMaximum"}


def _document_body(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """A body's JSON Schema: its `example` (a class attribute), and the rules `RequestBody` enforces."""
    example = getattr(model, "example", None)
    if example is not None:
        schema["examples"] = [example]
    _state_text_rules(schema)


def _state_text_rules(schema: dict[str, Any]) -> None:
    """Write into a body's JSON Schema what `RequestBody` enforces on text, dates and bounds, so that a client generated
    from the OpenAPI document sends what the service accepts: no control characters, dates in CALENDAR_YEARS."""
    for prop in schema.get("properties", {}).values():
        for option in [prop, prop.get("items", {}), *prop.get("anyOf", [])]:
            # Pydantic writes bounds set on top of a validated type (`Annotated[Fen, Field(gt=0)]`) under their
            # Python names, which no JSON Schema tool reads.
            for python_name, json_name in _BOUNDS.items():
                if python_name in option:
                    option[json_name] = option.pop(python_name)
            if option.get("type") != "string" or "pattern" in option or "enum" in option or "const" in option:
                continue
            fmt = option.get("format")
            if fmt in {"date", "date-time"}:
                option["pattern"] = _CALENDAR_DATE
            elif fmt is None:
                option["pattern"] = NOT_BLANK if option.get("minLength", 0) > 0 else NO_CONTROL_CHARACTERS


class RequestBody(BaseModel):
    """Unknown fields are errors, surrounding blanks are trimmed, text holds no control character, and a date
    or a time is written as text. Subclasses set `example` to a valid body, which the OpenAPI document shows."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra=_document_body)
    # A valid body, shown in the OpenAPI document (`examples`): set it on every request body.
    example: ClassVar[dict[str, Any] | None] = None

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

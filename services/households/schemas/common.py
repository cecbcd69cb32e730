"""Building blocks of the request/response bodies: strict input, plausible dates, ID-card numbers."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, Field, SecretStr

from services.households.idcard import normalize_id_number
from shared.timeutil import district_today

T = TypeVar("T")
FIRST_YEAR = 1900


def _not_future(value: date) -> date:
    if value > district_today() or value.year < FIRST_YEAR:
        raise ValueError("date must be between 1900 and today")
    return value


def _id_number(value: SecretStr) -> SecretStr:
    return SecretStr(normalize_id_number(value.get_secret_value(), today=district_today()))


PastDate = Annotated[date, AfterValidator(_not_future)]
# A SecretStr so that a repr, a log line or a validation error never shows it.
IdCardNumber = Annotated[
    SecretStr,
    AfterValidator(_id_number),
    Field(description="18-character resident ID-card number (GB 11643); write-only, shown masked"),
]
Year = Annotated[int, Field(ge=2000, le=2100)]
Limit = Annotated[int, Field(ge=1, le=500)]


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` as `cursor` for the next page (None on the last)."""

    items: list[T]
    next_cursor: str | None

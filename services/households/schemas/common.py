"""Building blocks of the request/response bodies: strict input, plausible dates, ID-card numbers."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, Field, SecretStr

from services.households.idcard import check_digit, normalize_id_number
from shared.timeutil import district_today

T = TypeVar("T")
FIRST_YEAR = 1900
_ID_LIKE = re.compile(r"\d{14,}")
# An ID-card number typed in groups: 17 digits and a check character, one separator at most between any two
# (spaces, dashes, dots, zero-width characters), refused when its check character is right (two dates side by
# side are not a number).
_GROUPED_ID = re.compile(r"(?<!\d)(?:\d[\s\-.\u00b7\u200b-\u200d\u2060\ufeff]?){17}[\dXx](?!\d)")
_NOT_DIGITS = re.compile(r"[^\dXx]")


def _not_future(value: date) -> date:
    if value > district_today() or value.year < FIRST_YEAR:
        raise ValueError("date must be between 1900 and today")
    return value


def _id_number(value: SecretStr) -> SecretStr:
    return SecretStr(normalize_id_number(value.get_secret_value(), today=district_today()))


def contains_id_number(value: str) -> bool:
    """Whether text holds an ID-card number, whole or typed in groups."""
    text = unicodedata.normalize("NFKC", value)  # full-width digits are digits
    return bool(_ID_LIKE.search(text)) or any(_is_id_number(m.group()) for m in _GROUPED_ID.finditer(text))


def _no_id_numbers(value: str) -> str:
    if contains_id_number(value):
        raise ValueError("must not contain an ID-card number")
    return value


def _is_id_number(grouped: str) -> bool:
    number = _NOT_DIGITS.sub("", grouped).upper()
    return len(number) == 18 and number[:17].isascii() and check_digit(number[:17]) == number[17]


PastDate = Annotated[date, AfterValidator(_not_future)]
# Free text officers write (published in events, kept in the history and the reveal log, shown to every reader): an
# ID-card number typed into it, whole or in groups, is refused, so it never reaches Kafka, a log or a reader unmasked.
ScreenedText = Annotated[str, AfterValidator(_no_id_numbers)]
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

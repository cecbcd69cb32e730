"""Building blocks of the request/response bodies: strict input, dates from 1900 on, ID-card numbers."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, Field, SecretStr

from services.households.rules.dates import FIRST_YEAR
from services.households.rules.idcard import normalize_id_number


def _from_first_year(value: date) -> date:
    if value.year < FIRST_YEAR:
        raise ValueError("date must be between 1900 and today")
    return value


def _id_number(value: SecretStr) -> SecretStr:
    return SecretStr(normalize_id_number(value.get_secret_value()))


# The date of something that has happened. Schemas read no clock: that it is not after today is a rule the use
# case checks against the request's day (`rules.dates`); an ID-card number's birth date likewise.
PastDate = Annotated[date, AfterValidator(_from_first_year)]
# A SecretStr so that a repr, a log line or a validation error never shows it.
IdCardNumber = Annotated[
    SecretStr,
    AfterValidator(_id_number),
    Field(description="18-character resident ID-card number (GB 11643); write-only, shown masked"),
]
Year = Annotated[int, Field(ge=2000, le=2100)]

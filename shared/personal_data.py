"""Citizens' ID-card numbers (身份证号) and bank account numbers (银行卡号) kept out of free text: whatever officers
type into a name, a note or a description is published in events, kept in histories and shown to every reader, so a
number in it would leak."""

from __future__ import annotations

import operator
import re
import unicodedata
from collections.abc import Iterator
from datetime import date
from typing import Annotated

from pydantic import AfterValidator

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_ID_LIKE = re.compile(r"\d{14,}")
# What people type between the groups of a long number: up to three of spaces, dashes, dots, slashes, underscores,
# commas (full-width ones are these after NFKC; the ideographic 、 too), colons, bars, middle dots and invisible
# characters.
_SEPARATOR = r"[\s\-./_,:;|\u00b7\u3001\u200b-\u200d\u2060\ufeff]{0,3}"
# An ID-card number typed in groups: 17 digits and a check character (18-digit form) or 15 digits (the first-generation
# form, 6 region digits, YYMMDD, 3 sequence digits), separators between any two, from where a run of digits begins.
_GROUPED_ID_AT = re.compile(
    rf"(?:\d{_SEPARATOR}){{14}}\d(?:{_SEPARATOR}\d{_SEPARATOR}\d)?(?:{_SEPARATOR}[\dXx])?(?![\dXx])"
)
_RUN_START = re.compile(r"(?<!\d)\d")
_NOT_DIGITS = re.compile(r"[^\dXx]")
# A bank account number (12 to 30 digits) written whole or in groups, as on the card (`6217 0000 1234 5678 901`) or
# read out over the phone (`6217-0000-1234-5678`, `6217.0000.1234`): a run of at least 12 digits with separators
# between any two. Shorter runs are left alone: a phone number has 11 digits.
_ACCOUNT_LIKE = re.compile(rf"\d(?:{_SEPARATOR}\d){{11,}}")


def check_digit(first17: str) -> str:
    """The GB 11643 check character (ISO 7064 MOD 11-2) of the first 17 digits."""
    return _CHECK_CHARS[sum(map(operator.mul, map(int, first17), _WEIGHTS)) % 11]


def contains_id_number(value: str) -> bool:
    """Whether text holds an ID-card number, whole or typed in groups, in either form."""
    text = unicodedata.normalize("NFKC", value)  # full-width digits are digits
    return bool(_ID_LIKE.search(text)) or next(_grouped_id_numbers(text), None) is not None


def redact_id_numbers(value: str) -> str:
    """`value` (normalised) with every ID-card number in it, whole or in groups, replaced by `[ID number]`."""
    text = _ID_LIKE.sub(ID_REDACTED, unicodedata.normalize("NFKC", value))
    for start, end in reversed(list(_grouped_id_numbers(text))):
        text = text[:start] + ID_REDACTED + text[end:]
    return text


ID_REDACTED = "[ID number]"


def _grouped_id_numbers(text: str) -> Iterator[tuple[int, int]]:
    """The spans of ID-card numbers typed in groups, tried from every place a run of digits begins."""
    after = 0
    for start in _RUN_START.finditer(text):
        if start.start() < after:
            continue
        found = _GROUPED_ID_AT.match(text, start.start())
        if found and _is_id_number(found.group()):
            after = found.end()
            yield found.start(), found.end()


def _is_id_number(grouped: str) -> bool:
    number = _NOT_DIGITS.sub("", grouped).upper()
    if len(number) == 18:
        return number[:17].isascii() and check_digit(number[:17]) == number[17]
    return len(number) == 15 and number.isdigit() and _plausible_day(number[6:12])


def _plausible_day(yymmdd: str) -> bool:
    """A first-generation number's birth date (YYMMDD, 19YY): a real calendar day."""
    try:
        date(1900 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]))
    except ValueError:
        return False
    return True


def _no_id_numbers(value: str) -> str:
    if contains_id_number(value):
        raise ValueError("must not contain an ID-card number")
    return value


def contains_account_number(value: str) -> bool:
    """Whether text holds what may be a bank account number, whole or typed in groups."""
    return bool(_ACCOUNT_LIKE.search(unicodedata.normalize("NFKC", value)))


def _no_account_numbers(value: str) -> str:
    if contains_account_number(value):
        raise ValueError("must not contain a bank account number (12 or more digits)")
    return value


# Free text officers write: an ID-card number typed into it, whole or in groups, is refused, so it never reaches
# Kafka, a log or a reader unmasked.
ScreenedText = Annotated[str, AfterValidator(_no_id_numbers)]

# Free text written where money is paid (a reason, a note, a fund's document): neither an ID-card number nor a bank
# account number, however grouped, may be in it; the refusal names the field, never the text.
ScreenedPaymentText = Annotated[str, AfterValidator(_no_id_numbers), AfterValidator(_no_account_numbers)]

"""Citizens' ID-card numbers (身份证号) kept out of free text: whatever officers type into a name, a note or a
description is published in events, kept in histories and shown to every reader, so a number in it would leak."""

from __future__ import annotations

import operator
import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_ID_LIKE = re.compile(r"\d{14,}")
# An ID-card number typed in groups: 17 digits and a check character, one separator at most between any two
# (spaces, dashes, dots, zero-width characters), refused when its check character is right (two dates side by
# side are not a number).
_GROUPED_ID = re.compile(r"(?<!\d)(?:\d[\s\-.\u00b7\u200b-\u200d\u2060\ufeff]?){17}[\dXx](?!\d)")
_NOT_DIGITS = re.compile(r"[^\dXx]")


def check_digit(first17: str) -> str:
    """The GB 11643 check character (ISO 7064 MOD 11-2) of the first 17 digits."""
    return _CHECK_CHARS[sum(map(operator.mul, map(int, first17), _WEIGHTS)) % 11]


def contains_id_number(value: str) -> bool:
    """Whether text holds an ID-card number, whole or typed in groups."""
    text = unicodedata.normalize("NFKC", value)  # full-width digits are digits
    return bool(_ID_LIKE.search(text)) or any(_is_id_number(m.group()) for m in _GROUPED_ID.finditer(text))


def _is_id_number(grouped: str) -> bool:
    number = _NOT_DIGITS.sub("", grouped).upper()
    return len(number) == 18 and number[:17].isascii() and check_digit(number[:17]) == number[17]


def _no_id_numbers(value: str) -> str:
    if contains_id_number(value):
        raise ValueError("must not contain an ID-card number")
    return value


# Free text officers write: an ID-card number typed into it, whole or in groups, is refused, so it never reaches
# Kafka, a log or a reader unmasked.
ScreenedText = Annotated[str, AfterValidator(_no_id_numbers)]

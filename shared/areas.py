"""Administrative division codes (行政区划代码): 6 digits district, 9 township, 12 village.

ASCII digits only, the whole value (`re.ASCII`, `fullmatch`): Python's `\\d` takes any script's digits and `$`
matches before a trailing newline, and a code is compared as text everywhere after this check.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema

_VILLAGE = re.compile(r"^\d{12}$", re.ASCII)
_ANY_LEVEL = re.compile(r"^(\d{6}|\d{9}|\d{12})$", re.ASCII)
_TOWNSHIP_OR_VILLAGE = re.compile(r"^(\d{9}|\d{12})$", re.ASCII)


def township_of(area_code: str) -> str:
    """The township (乡镇/街道) code containing a village or township code."""
    return area_code[:9]


def _village(code: str) -> str:
    if not _VILLAGE.fullmatch(code):
        raise ValueError("must be a 12-digit village code")
    return code


def is_area_code(code: str) -> bool:
    """A district (6 digits), township (9) or village (12) code."""
    return _ANY_LEVEL.fullmatch(code) is not None


def _area(code: str) -> str:
    if not is_area_code(code):
        raise ValueError("must be a 6-, 9- or 12-digit area code")
    return code


def township_or_village(code: str) -> str:
    """A township (乡镇, 9 digits) or village (村, 12 digits) code: where a project or payment sits."""
    if not _TOWNSHIP_OR_VILLAGE.fullmatch(code):
        raise ValueError("must be a 9-digit township or 12-digit village code")
    return code


def _documented(pattern: re.Pattern[str], description: str, example: str) -> WithJsonSchema:
    """The code's shape in the OpenAPI document (the validator's own message stays the error clients see)."""
    return WithJsonSchema(
        {"type": "string", "pattern": pattern.pattern, "description": description, "examples": [example]}
    )


VillageCode = Annotated[
    str, AfterValidator(_village), _documented(_VILLAGE, "12-digit village code (村)", "371523101201")
]
AreaCode = Annotated[str, AfterValidator(_area), _documented(_ANY_LEVEL, "6-, 9- or 12-digit area code", "371523101")]
TownshipOrVillageCode = Annotated[
    str,
    AfterValidator(township_or_village),
    _documented(_TOWNSHIP_OR_VILLAGE, "9-digit township (乡镇) or 12-digit village (村) code", "371523101"),
]

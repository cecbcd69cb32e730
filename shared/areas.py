"""Administrative division codes (行政区划代码): 6 digits district, 9 township, 12 village."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_VILLAGE = re.compile(r"^\d{12}$")
_ANY_LEVEL = re.compile(r"^(\d{6}|\d{9}|\d{12})$")
_TOWNSHIP_OR_VILLAGE = re.compile(r"^(\d{9}|\d{12})$")


def township_of(area_code: str) -> str:
    """The township (乡镇/街道) code containing a village or township code."""
    return area_code[:9]


def _village(code: str) -> str:
    if not _VILLAGE.match(code):
        raise ValueError("must be a 12-digit village code")
    return code


def _area(code: str) -> str:
    if not _ANY_LEVEL.match(code):
        raise ValueError("must be a 6-, 9- or 12-digit area code")
    return code


def township_or_village(code: str) -> str:
    """A township (乡镇, 9 digits) or village (村, 12 digits) code: where a project or payment sits."""
    if not _TOWNSHIP_OR_VILLAGE.match(code):
        raise ValueError("must be a 9-digit township or 12-digit village code")
    return code


VillageCode = Annotated[str, AfterValidator(_village)]
AreaCode = Annotated[str, AfterValidator(_area)]
TownshipOrVillageCode = Annotated[str, AfterValidator(township_or_village)]

"""The codes officers type: a project's code (项目编号) and a problem's. Both are published and shown to every reader
like free text, and 18 digits fit both patterns: an ID-card number is refused in them as in `ScreenedText`, by the
same detector and with the same error."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from shared.personal_data import contains_id_number

PROBLEM_CODE = r"^[a-z0-9_]+$"


def _no_id_number(value: str) -> str:
    if contains_id_number(value):
        raise ValueError("must not contain an ID-card number")
    return value


# The constraints come before the screening, so that the OpenAPI document states the pattern.
# One spelling of a project's code: XM-2020-001 and xm-2020-001 would be two projects, each paid income.
ProjectCode = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32,
        pattern=r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$",
        description="项目编号: letters and digits between single dashes, kept in capitals; never an ID-card number",
    ),
    AfterValidator(_no_id_number),
    AfterValidator(str.upper),
]
ProblemCode = Annotated[
    str,
    Field(
        min_length=1,
        max_length=60,
        pattern=PROBLEM_CODE,
        description="the kind of problem, in lower-case letters, digits and `_`; never an ID-card number",
        examples=["roof_damaged"],
    ),
    AfterValidator(_no_id_number),
]

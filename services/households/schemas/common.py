"""Building blocks of the request/response bodies: strict input, dates from 1900 on, ID-card numbers, and the
rules between a body's fields stated in its JSON Schema."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, cast

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

from services.households.rules.dates import FIRST_YEAR
from services.households.rules.idcard import normalize_id_number
from shared.schemas import RequestBody


def _from_first_year(value: date) -> date:
    if value.year < FIRST_YEAR:
        raise ValueError("date must be between 1900 and today")
    return value


def _id_number(value: SecretStr) -> SecretStr:
    return SecretStr(normalize_id_number(value.get_secret_value()))


# The date of something that has happened. Schemas read no clock: that it is not after today is a rule the use
# case checks against the request's day (`rules.dates`); an ID-card number's birth date likewise.
PastDate = Annotated[date, AfterValidator(_from_first_year)]
# A SecretStr so that a repr, a log line or a validation error never shows it. Its shape is stated in the document;
# its region, birth date and check digit no schema can state (a generated client sends real numbers).
IdCardNumber = Annotated[
    SecretStr,
    AfterValidator(_id_number),
    Field(
        description="18-character resident ID-card number (GB 11643), with a valid check character; write-only, "
        "shown masked",
        json_schema_extra={"pattern": r"^[0-9]{17}[0-9Xx]$", "minLength": 18, "maxLength": 18},
    ),
]
Year = Annotated[int, Field(ge=2000, le=2100)]
HouseholdCode = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9-]+$")]

_DOCUMENT_BODY = cast(Callable[[dict[str, Any], type[BaseModel]], None], RequestBody.model_config["json_schema_extra"])


def together(*groups: tuple[str, ...]) -> dict[str, list[str]]:
    """`dependentRequired` for groups of fields that are given all or none."""
    return {name: [other for other in group if other != name] for group in groups for name in group}


def stating(*, not_null: tuple[str, ...] = (), **rules: Any) -> ConfigDict:
    """A body's config whose JSON Schema also states the rules between its fields (`dependentRequired`, `oneOf`,
    `if`/`then`), so that a client generated from the document sends what the use case accepts.

    `not_null` fields may be left out but not sent as null: null is refused for them (a required fact cannot be
    cleared) or would satisfy `dependentRequired` with nothing in it."""

    def extra(schema: dict[str, Any], model: type[BaseModel]) -> None:
        _DOCUMENT_BODY(schema, model)
        for name in not_null:
            field = schema["properties"][name]
            field.pop("default", None)
            if "anyOf" in field:
                options = [o for o in field.pop("anyOf") if o.get("type") != "null"]
                field.update(options[0] if len(options) == 1 else {"anyOf": options})
        schema.update(copy.deepcopy(rules))

    return ConfigDict(json_schema_extra=extra)

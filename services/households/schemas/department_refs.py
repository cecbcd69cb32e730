"""How a department's row names whom it is about (行业部门数据): a member by ID-card number or member id, a household
also by its code; exactly one reference, stated in the row's JSON Schema (`oneOf`). The base of every kind's row
model, with the row's plain values and its dates of what has happened, as the use case takes them."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar
from uuid import UUID

from pydantic import ConfigDict, model_validator

from services.households.rules.idcard import birth_date_of
from services.households.schemas.common import HouseholdCode, IdCardNumber, stating
from services.households.schemas.households import HEAD
from shared.schemas import RequestBody

MEMBER_REFERENCES = ("id_number", "member_id")
HOUSEHOLD_REFERENCES = (*MEMBER_REFERENCES, "household_code")
BY_ID_NUMBER = {"id_number": HEAD["id_number"]}


def referenced_by(names: tuple[str, ...], **rules: Any) -> ConfigDict:
    """A row's schema: exactly one of the reference fields `names` (none sent as null), and `rules`."""
    return stating(not_null=names, oneOf=[{"required": [name]} for name in names], **rules)


class MemberRef(RequestBody):
    """A member, by ID-card number (matched through the keyed hash) or by member id: exactly one."""

    model_config = referenced_by(MEMBER_REFERENCES)
    references: ClassVar[tuple[str, ...]] = MEMBER_REFERENCES
    # The row's dates of what has happened: not after the day the row is applied (checked then, see
    # `domain/departments/batches.py`).
    happened: ClassVar[tuple[str, ...]] = ()

    id_number: IdCardNumber | None = None
    member_id: UUID | None = None

    def plain(self) -> dict[str, Any]:
        """The row's values as the use case takes them: plain values, an ID-card number as its text."""
        values = self.model_dump()
        values["id_number"] = self.id_number.get_secret_value() if self.id_number is not None else None
        return values

    def dates(self) -> dict[str, date | None]:
        """The row's dates of what has happened, by field; an ID-card number's is the birth date it carries."""
        dated: dict[str, Any] = {name: getattr(self, name) for name in self.happened}
        if self.id_number is not None:
            dated["id_number"] = birth_date_of(self.id_number.get_secret_value())
        return dated

    @model_validator(mode="after")
    def _one_reference(self) -> MemberRef:
        if sum(getattr(self, name) is not None for name in self.references) != 1:
            raise ValueError("give exactly one of " + ", ".join(self.references))
        return self


class HouseholdRef(MemberRef):
    """A household, by household code or through any member of it: exactly one."""

    model_config = referenced_by(HOUSEHOLD_REFERENCES)
    references = HOUSEHOLD_REFERENCES

    household_code: HouseholdCode | None = None

"""Bodies of a payee account (惠民惠农一卡通): the number and the name go in, only their masked forms come out."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field, SecretStr

from services.subsidies.rules.payee_vault import ACCOUNT_PATTERN, is_account_number
from shared.personal_data import contains_id_number
from shared.schemas import RequestBody

NAME_MAX = 50
# A name goes into a CSV field of the bank file as it is: no separator, quote or line break to escape.
NAME_PATTERN = r'^(?!\s*$)[^,"\x00-\x1f\x7f]+$'
_NAME = re.compile(NAME_PATTERN)


def _account_no(value: SecretStr) -> SecretStr:
    number = unicodedata.normalize("NFKC", value.get_secret_value())  # full-width digits, as typed in Chinese
    if not is_account_number(number):
        raise ValueError("an account number is 12 to 30 digits")
    return SecretStr(number)


def _holder_name(value: SecretStr) -> SecretStr:
    name = value.get_secret_value().strip()
    if not 1 <= len(name) <= NAME_MAX or not _NAME.fullmatch(name):
        raise ValueError(f"a name is 1 to {NAME_MAX} characters without commas, quotes or line breaks")
    if contains_id_number(name):
        raise ValueError("must not contain an ID-card number")
    return SecretStr(name)


# SecretStr, so that a repr, a log line, a validation error or a stored request digest never shows them; the rules
# a schema can state are stated in the document.
AccountNumber = Annotated[
    SecretStr,
    AfterValidator(_account_no),
    Field(
        description="the bank card or account number (一卡通), 12 to 30 digits; write-only, shown masked",
        json_schema_extra={"pattern": ACCOUNT_PATTERN, "minLength": 12, "maxLength": 30},
    ),
]
HolderName = Annotated[
    SecretStr,
    AfterValidator(_holder_name),
    Field(
        description="the name the account is held in, as the bank knows it; write-only, shown masked (张*三)",
        json_schema_extra={"pattern": NAME_PATTERN, "minLength": 1, "maxLength": NAME_MAX},
    ),
]


class PayeeCreate(RequestBody):
    """The account a household's (or one member's) subsidies are paid into; a new one replaces the holder's last."""

    example: ClassVar[dict[str, Any]] = {
        "member_id": None,
        "bank_code": "RCC3715",
        "account_no": "6217000012345678901",
        "holder_name": "张三",
        "holder_member_id": "2b7e1c4d-8a3f-4d2e-9c1b-5e6f7a8b9c0d",
    }

    member_id: UUID | None = Field(
        default=None,
        description="the member whose own subsidies go to this account; none: the household's account, used for "
        "its members too unless a member has one of their own",
    )
    bank_code: str = Field(
        min_length=2, max_length=20, pattern=r"^[A-Za-z0-9]+$", description="the paying bank (代发行) code"
    )
    account_no: AccountNumber
    holder_name: HolderName
    holder_member_id: UUID | None = Field(
        default=None, description="the member of the household the account is in the name of; none: someone else"
    )


class PayeeRead(BaseModel):
    """A payee account as anyone may read it: masked only."""

    id: UUID
    household_id: UUID
    member_id: UUID | None
    holder_key: str = Field(description="the member id, or `-` for the household's account")
    bank_code: str
    account_masked: str = Field(examples=["6217 **** **** 8901"])
    holder_name_masked: str = Field(examples=["张*三"])
    holder_member_id: UUID | None
    recorded_by: str
    recorded_at: datetime
    replaced_at: datetime | None = Field(description="when a newer account replaced it; null: the account in use")

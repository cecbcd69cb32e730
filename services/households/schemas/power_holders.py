"""Bodies of the power-holder register (有审批权或评议权的人员 and their 近亲属): ID-card numbers in, never out."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field

from services.households.rules.integrity import MAX_RELATIVES, PowerRole, RelativeKind
from services.households.schemas.common import IdCardNumber, PastDate
from services.households.schemas.households import HEAD
from shared.areas import AreaCode
from shared.personal_data import ScreenedText
from shared.schemas import RequestBody

HOLDER_ID = "371523197503040011"  # valid check digit; a made-up number of 1975


class PowerHolderCreate(RequestBody):
    """A person with power over benefits: their login, name and post (an official role), the power they have and
    where; their own ID-card number, if given, only to find them among beneficiaries (stored as a keyed hash)."""

    example: ClassVar[dict[str, Any]] = {
        "person_id": "cadre-li",
        "name": "李支书",
        "post": "耿店村党支部书记",
        "role": "village_cadre",
        "area_code": "371523101201",
        "id_number": HOLDER_ID,
    }

    person_id: ScreenedText = Field(min_length=1, max_length=100, description="their login (a token's subject)")
    name: ScreenedText = Field(min_length=1, max_length=50)
    post: ScreenedText = Field(min_length=1, max_length=80, description="村支书, 乡镇扶贫办主任, 审批科长 ...")
    role: PowerRole
    area_code: AreaCode = Field(description="where their power lies: the district, a township or a village")
    id_number: IdCardNumber | None = None


class RelativeCreate(RequestBody):
    """A close relative (近亲属) of a power holder, known only by the keyed hash of their ID-card number."""

    # The example household's head: in the documents' story the cadre's brother is a beneficiary (优亲厚友).
    example: ClassVar[dict[str, Any]] = {"relationship": "sibling", "id_number": HEAD["id_number"]}

    relationship: RelativeKind
    id_number: IdCardNumber


class Ending(RequestBody):
    """The day a post or a tie ended (离任, 关系解除): not after today."""

    example: ClassVar[dict[str, Any]] = {"ended_on": "2020-06-30"}

    ended_on: PastDate


class PowerHolderRead(BaseModel):
    """A power holder with the kinds of tie of their live relatives (never a number or a hash)."""

    id: UUID
    person_id: str
    name: str
    post: str
    role: PowerRole
    area_code: str
    id_number_given: bool = Field(description="whether their own number was given (it is kept only hashed)")
    registered_by: str
    registered_at: datetime
    ended_on: date | None
    live_relatives: int
    relationships: list[RelativeKind] = Field(max_length=MAX_RELATIVES)


class RelativeRead(BaseModel):
    """A relative as the register knows them: the tie and when it was recorded or ended."""

    id: UUID
    holder_id: UUID
    relationship: RelativeKind
    recorded_by: str
    recorded_at: datetime
    ended_on: date | None


class PowerHolderDetail(PowerHolderRead):
    relatives: list[RelativeRead] = Field(max_length=MAX_RELATIVES)

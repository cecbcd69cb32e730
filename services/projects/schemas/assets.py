"""Bodies of a project's assets (资产确权): their registration and the asset register."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field, model_validator
from pydantic_core import PydanticCustomError

from services.projects.rules.distribution import BASIS_POINTS
from services.projects.rules.vocabulary import AssetOwnerKind
from shared.areas import TownshipOrVillageCode
from shared.money import Fen
from shared.personal_data import ScreenedText
from shared.schemas import RequestBody

# A village collective (村集体) owns in a village, a township (乡镇) in itself: the code's length says which.
OWNER_CODE_LENGTH = {AssetOwnerKind.VILLAGE_COLLECTIVE: 12, AssetOwnerKind.TOWNSHIP: 9}


class AssetCreate(RequestBody):
    example: ClassVar[dict[str, Any]] = {
        "description": "贾寨村扶贫大棚 12 座",
        "value_fen": 150_000_000,
        "owner_kind": "village_collective",
        "owner_area_code": "371523101201",
        "operator": "贾寨村蔬菜种植合作社",
        "agreed_return_bp": 800,
        "registered_on": "2020-06-15",
    }

    description: Annotated[ScreenedText, Field(min_length=1, max_length=200)]
    value_fen: Annotated[Fen, Field(gt=0)]
    owner_kind: AssetOwnerKind
    owner_area_code: TownshipOrVillageCode = Field(
        description="a village code (12 digits) for a village collective, the township's code (9) for a township; "
        "within the project's township (refused otherwise with the code `owner_outside_township`)"
    )
    operator: Annotated[ScreenedText, Field(min_length=1, max_length=200, description="who runs it (经营主体)")]
    agreed_return_bp: Annotated[
        int,
        Field(strict=True, ge=0, le=BASIS_POINTS, description="the agreed yearly return in basis points: 800 = 8 %"),
    ]
    registered_on: date = Field(description="not in the future, not before the project started")

    @model_validator(mode="after")
    def _owner_code_fits_owner(self) -> AssetCreate:
        # JSON Schema cannot tie one field's length to another's value: the document says it, the refusal has a code.
        if len(self.owner_area_code) != OWNER_CODE_LENGTH[self.owner_kind]:
            raise PydanticCustomError(
                "owner_code_mismatch",
                "a village collective owns in a village (12 digits), a township in itself (9 digits)",
            )
        return self


class AssetRead(BaseModel):
    id: UUID
    project_id: UUID
    description: str
    value_fen: int
    owner_kind: AssetOwnerKind
    owner_area_code: str
    operator: str
    agreed_return_bp: int
    registered_on: date
    registered_by: str
    registered_at: datetime
    year: int = Field(description="the year `income_this_year_fen` counts (the request's day's year)")
    income_this_year_fen: int = Field(description="income recorded for the months of `year`")
    income_last_year_fen: int = Field(description="income recorded for the months of the year before")

"""Bodies of a project's income (收益) for a period."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field

from shared.money import Fen
from shared.schemas import Period, RequestBody


class IncomeCreate(RequestBody):
    example: ClassVar[dict[str, Any]] = {"period": "2020-06", "amount_fen": 4_466_400}

    period: Period = Field(description="a month that has begun, not before the project started")
    amount_fen: Annotated[Fen, Field(gt=0)]


class IncomeRead(BaseModel):
    id: UUID
    project_id: UUID
    period: str
    amount_fen: int
    recorded_at: datetime

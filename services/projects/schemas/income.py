"""Bodies of an asset's income (收益) for a month."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field

from services.projects.rules.vocabulary import PlanStatus
from shared.money import Fen
from shared.schemas import Period, RequestBody


class IncomeCreate(RequestBody):
    example: ClassVar[dict[str, Any]] = {
        "asset_id": "3f0c8d2e-5b1a-4c6e-9d7f-2a4b6c8d0e1f",
        "period": "2020-06",
        "amount_fen": 4_466_400,
        "received_on": "2020-06-30",
    }

    asset_id: UUID = Field(description="the project's asset that earned it (refused otherwise: `not_an_asset`)")
    period: Period = Field(description="a month that has begun, not before the project started")
    amount_fen: Annotated[Fen, Field(gt=0)]
    received_on: date | None = Field(
        default=None, description="when it arrived, not in the future; the request's day when left out"
    )


class IncomeDistribution(BaseModel):
    """The income's live distribution plan (收益分配方案): the one not rejected."""

    plan_id: UUID
    status: PlanStatus


class IncomeRead(BaseModel):
    id: UUID
    project_id: UUID
    asset_id: UUID | None = Field(description="None for income recorded before assets were registered")
    period: str
    amount_fen: int
    received_on: date | None
    recorded_at: datetime
    distribution: IncomeDistribution | None = Field(
        default=None, description="its plan not rejected and where the plan stands; None while it has none"
    )

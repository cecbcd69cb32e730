"""Bodies of public-welfare posts (公益岗位), their holders, care pairings (帮扶对子) and monthly payrolls."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field

from services.projects.rules.vocabulary import PayrollStatus, PostDuty, ShareStatus
from shared.areas import TownshipOrVillageCode
from shared.money import Fen
from shared.personal_data import ScreenedText
from shared.schemas import Period, RequestBody


class PostCreate(RequestBody):
    example: ClassVar[dict[str, Any]] = {
        "title": "保洁员",
        "duty": "cleaning",
        "area_code": "371523101201",
        "monthly_allowance_fen": 50_000,
    }

    title: Annotated[ScreenedText, Field(min_length=1, max_length=200)]
    duty: PostDuty
    area_code: TownshipOrVillageCode = Field(description="the township or village the post serves")
    monthly_allowance_fen: Annotated[Fen, Field(gt=0)]


class HoldingCreate(RequestBody):
    example: ClassVar[dict[str, Any]] = {
        "household_id": "6f1d1bb0-0000-4000-8000-000000000001",
        "member_id": "6f1d1bb0-0000-4000-8000-000000000002",
        "started_on": "2020-03-01",
    }

    household_id: UUID = Field(description="on the roll, in the post's area, not exited without policies")
    member_id: UUID = Field(description="a living member of the household, holding no other post")
    started_on: date


class SpanEnd(RequestBody):
    example: ClassVar[dict[str, Any]] = {"ended_on": "2020-06-30"}

    ended_on: date = Field(description="the last day held: not before the start, not after today")


class HoldingRead(BaseModel):
    id: UUID
    post_id: UUID
    household_id: UUID
    member_id: UUID
    started_on: date
    ended_on: date | None
    recorded_at: datetime


class PostRead(BaseModel):
    id: UUID
    title: str
    duty: PostDuty
    area_code: str
    monthly_allowance_fen: int
    created_at: datetime
    holder: HoldingRead | None = Field(description="the holding not ended; null while the post is vacant")


class PairingCreate(RequestBody):
    example: ClassVar[dict[str, Any]] = {
        "cared_household_id": "6f1d1bb0-0000-4000-8000-000000000004",
        "started_on": "2020-03-15",
    }

    cared_household_id: UUID = Field(description="on the roll, in the post's township, not the holder's own")
    started_on: date = Field(description="not before the holder took the post")


class PairingRead(BaseModel):
    id: UUID
    post_id: UUID
    post_title: str
    post_area_code: str
    holding_id: UUID
    holder_household_id: UUID
    holder_member_id: UUID
    cared_household_id: UUID
    started_on: date
    ended_on: date | None


class PayrollCreate(RequestBody):
    example: ClassVar[dict[str, Any]] = {"period": "2020-06"}

    period: Period = Field(description="a month that has begun (the current month counts holdings as held to its end)")


class PayrollRead(BaseModel):
    id: UUID
    period: str
    status: PayrollStatus
    line_count: int
    total_fen: int
    paid_fen: int
    prepared_by: str
    prepared_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    paid_at: datetime | None


class PayrollLineRead(BaseModel):
    id: UUID
    payroll_id: UUID
    holding_id: UUID = Field(description="the last post the member held in the month")
    post_id: UUID
    household_id: UUID
    member_id: UUID
    amount_fen: int
    status: ShareStatus
    payment_id: UUID | None
    paid_at: datetime | None


class WageSource(StrEnum):
    WORKSHOP_WAGE = "workshop_wage"  # paid by a workshop (就业工场, 扶贫车间)
    POST_ALLOWANCE = "post_allowance"  # a public-welfare post's allowance, paid by subsidies on a payroll


class HouseholdWageRead(BaseModel):
    """A month's wage or post allowance of one of the household's members: its wage income (工资性收入)."""

    source: WageSource
    id: UUID = Field(description="the wage's or the payroll line's id")
    period: str
    member_id: UUID
    amount_fen: int
    status: ShareStatus = Field(description="a workshop's wage is paid; an allowance is paid once subsidies paid it")
    workshop_id: UUID | None
    post_id: UUID | None

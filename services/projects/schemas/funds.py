"""Bodies of funds (资金): funding lines (资金指标), a project's draws on them, its spending (支出), the totals."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field

from services.projects.rules.vocabulary import FundSource
from shared.money import Fen
from shared.personal_data import ScreenedPaymentText
from shared.schemas import RequestBody
from shared.timeutil import CALENDAR_YEARS

Year = Annotated[int, Field(ge=CALENDAR_YEARS.start, le=CALENDAR_YEARS.stop - 1, examples=[2020])]


class AllocationCreate(RequestBody):
    """A funding line allocated to the district for a year under one document (资金下达)."""

    example: ClassVar[dict[str, Any]] = {
        "source": "district",
        "year": 2020,
        "document_no": "区财农〔2020〕12号",
        "purpose": "2020年区级专项扶贫资金 产业项目",
        "amount_fen": 2_150_000_000,
    }

    source: FundSource = Field(description="资金来源: central, provincial, municipal, district (区级专项), matching")
    year: Year
    document_no: ScreenedPaymentText = Field(min_length=1, max_length=100, description="the allocation document (文号)")
    purpose: ScreenedPaymentText = Field(default="", max_length=500)
    amount_fen: Annotated[Fen, Field(gt=0)]


class AllocationRead(BaseModel):
    id: UUID
    source: FundSource
    year: int
    document_no: str
    purpose: str
    amount_fen: int = Field(description="allocated")
    drawn_fen: int = Field(description="drawn by projects")
    spent_fen: int = Field(description="spent by projects from their draws on this line")
    available_fen: int = Field(description="left to draw: allocated - drawn")
    recorded_by: str
    recorded_at: datetime


class FundingCreate(RequestBody):
    """A project's draw on a funding line: the draw's whole amount (a second one on the same line sets it anew)."""

    example: ClassVar[dict[str, Any]] = {
        "allocation_id": "0b6c7f5e-8d1a-4f2b-9c3d-5e6f7a8b9c0d",
        "amount_fen": 150_000_000,
    }

    allocation_id: UUID = Field(description="the funding line (资金指标) drawn on")
    amount_fen: Annotated[Fen, Field(gt=0)] = Field(
        description="what the project draws on the line in all; never less than it has spent from it"
    )


class FundingRead(BaseModel):
    """A project's draw on one funding line, with what it has spent from it."""

    id: UUID
    project_id: UUID
    allocation_id: UUID
    source: FundSource
    year: int
    document_no: str
    amount_fen: int = Field(description="drawn")
    spent_fen: int
    available_fen: int = Field(description="left to spend: drawn - spent")
    recorded_by: str = Field(description="who last set the draw")
    recorded_at: datetime


class SpendingCreate(RequestBody):
    """Money a project spent (支出) against one of its draws."""

    example: ClassVar[dict[str, Any]] = {
        "funding_id": "5d2e9a1c-7b3f-4e8d-a6c5-1f0e9d8c7b6a",
        "amount_fen": 38_000_000,
        "spent_on": "2020-05-20",
        "purpose": "大棚钢架及棚膜 第一期",
        "voucher_no": "记-2020-05-118",
    }

    funding_id: UUID = Field(description="one of the project's draws (`/v1/projects/{id}/funding`)")
    amount_fen: Annotated[Fen, Field(gt=0)]
    spent_on: date = Field(description="not in the future, not before the project started")
    purpose: ScreenedPaymentText = Field(min_length=1, max_length=500)
    voucher_no: ScreenedPaymentText = Field(min_length=1, max_length=100, description="the payment voucher (凭证号)")


class SpendingRead(BaseModel):
    id: UUID
    project_id: UUID
    funding_id: UUID
    amount_fen: int
    spent_on: date
    purpose: str
    voucher_no: str
    recorded_by: str
    recorded_at: datetime


class MoneyRead(BaseModel):
    allocated_fen: int = Field(description="the year's funding lines (district-wide, whatever the area)")
    drawn_fen: int = Field(description="drawn on them by projects (of the area, when one is given)")
    spent_fen: int = Field(description="spent from those draws")


class SourceTotals(MoneyRead):
    source: FundSource


class FundTotalsRead(BaseModel):
    """A year's project funds by source (资金来源): the report's 区级专项扶贫资金, 上级资金 and their sum."""

    year: int
    area_code: str | None = Field(description="the area whose projects' draws and spending are counted; None: all")
    sources: list[SourceTotals] = Field(max_length=len(FundSource), description="every source, none left out")
    higher_levels: MoneyRead = Field(description="上级资金: central, provincial and municipal together")
    total: MoneyRead

"""Bodies for housing appraisals, water checks, income records and poverty lines."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, Field

from services.households.rules.vocabulary import IncomeSource, WaterProblem, WaterSource
from services.households.schemas.common import PastDate, Year
from shared.money import Fen
from shared.personal_data import ScreenedText
from shared.schemas import RequestBody


class AppraisalCreate(RequestBody):
    """A housing-safety appraisal (住房安全鉴定)."""

    grade: str = Field(pattern="^[ABCD]$")
    appraised_on: PastDate
    appraiser: ScreenedText = Field(min_length=1, max_length=100)
    renovation_due: date | None = Field(default=None, description="C/D only; the district default if omitted")


class RenovationCreate(RequestBody):
    """Acceptance of a renovated C/D house (危房改造验收): the new appraisal's grade."""

    completed_on: PastDate
    grade: str = Field(pattern="^[AB]$")
    appraiser: ScreenedText = Field(min_length=1, max_length=100)


class AppraisalRead(BaseModel):
    id: UUID
    grade: str
    appraised_on: date
    appraiser: str
    renovation_due: date | None
    renovated_on: date | None
    source: str


class WaterCheckCreate(RequestBody):
    """A drinking-water check; no problems means safe."""

    checked_on: PastDate
    source: WaterSource
    problems: list[WaterProblem] = Field(default_factory=list, max_length=10)
    checked_by: ScreenedText = Field(min_length=1, max_length=100)


class WaterCheckRead(BaseModel):
    id: UUID
    checked_on: date
    source: str
    problems: list[str]
    safe: bool
    checked_by: str


class PovertyLineSet(RequestBody):
    """A year's line and monitoring margin per person per year, integer fen (4,500 yuan = 450000)."""

    line_fen: Fen = Field(gt=0)
    monitoring_margin_fen: Fen = Field(ge=0)


class PovertyLineRead(BaseModel):
    year: int
    line_fen: int
    monitoring_margin_fen: int
    set_by: str
    set_at: datetime


class IncomeRecordCreate(RequestBody):
    year: Year
    source: IncomeSource
    amount_fen: Fen = Field(ge=0)
    note: ScreenedText = Field(default="", max_length=200)


class IncomeRecordRead(BaseModel):
    id: UUID
    year: int
    source: str
    amount_fen: int
    note: str
    recorded_by: str
    recorded_at: datetime


class IncomeRecorded(BaseModel):
    record: IncomeRecordRead
    per_capita_income_fen: int


class IncomeSummary(BaseModel):
    """The year's income against the line (人均收入 vs 贫困线)."""

    year: int
    total_fen: int
    member_count: int
    per_capita_income_fen: int
    line_fen: int | None
    monitoring_margin_fen: int | None
    below_line: bool | None
    below_monitoring_threshold: bool | None
    records: list[IncomeRecordRead]

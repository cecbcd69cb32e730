"""Bodies for housing appraisals, water checks, income records and poverty lines."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from services.households.rules.limits import MAX_INCOME_RECORDS_PER_YEAR
from services.households.rules.vocabulary import (
    AppraisalSource,
    IncomeSource,
    ReceiptStatus,
    TransferKind,
    WaterProblem,
    WaterSource,
)
from services.households.schemas.common import PastDate, Year, stating
from shared.contracts.households import HousingGrade
from shared.contracts.subsidies import PolicyCode
from shared.money import Fen
from shared.personal_data import ScreenedText
from shared.schemas import RequestBody

# Only a C or D house has a renovation deadline (an A or B house is safe).
SAFE_HOUSE_HAS_NO_DEADLINE: dict[str, Any] = {
    "if": {"properties": {"grade": {"enum": ["A", "B"]}}, "required": ["grade"]},
    "then": {"properties": {"renovation_due": {"type": "null"}}},
}


class AppraisalCreate(RequestBody):
    """A housing-safety appraisal (住房安全鉴定); a C/D house's renovation deadline is not before the appraisal."""

    model_config = stating(**SAFE_HOUSE_HAS_NO_DEADLINE)
    example: ClassVar[dict[str, Any]] = {
        "grade": "C",
        "appraised_on": "2020-04-20",
        "appraiser": "区住建局 刘工",
        "renovation_due": "2020-09-30",
    }

    grade: HousingGrade
    appraised_on: PastDate
    appraiser: ScreenedText = Field(min_length=1, max_length=100)
    renovation_due: date | None = Field(default=None, description="C/D only; the district default if omitted")


class RenovationCreate(RequestBody):
    """Acceptance of a renovated C/D house (危房改造验收): the new appraisal's grade."""

    example: ClassVar[dict[str, Any]] = {"completed_on": "2020-09-15", "grade": "A", "appraiser": "区住建局 刘工"}

    completed_on: PastDate
    grade: Literal[HousingGrade.A, HousingGrade.B]
    appraiser: ScreenedText = Field(min_length=1, max_length=100)


class AppraisalRead(BaseModel):
    id: UUID
    grade: HousingGrade
    appraised_on: date
    appraiser: str
    renovation_due: date | None
    renovated_on: date | None
    source: AppraisalSource


class WaterCheckCreate(RequestBody):
    """A drinking-water check; no problems means safe."""

    example: ClassVar[dict[str, Any]] = {
        "checked_on": "2020-04-08",
        "source": "well",
        "problems": ["excess_fluoride"],
        "checked_by": "区水利局",
    }

    checked_on: PastDate
    source: WaterSource
    problems: list[WaterProblem] = Field(default_factory=list, max_length=10)
    checked_by: ScreenedText = Field(min_length=1, max_length=100)


class WaterCheckRead(BaseModel):
    id: UUID
    checked_on: date
    source: WaterSource
    problems: list[WaterProblem] = Field(max_length=len(WaterProblem), description="each problem at most once")
    safe: bool
    checked_by: str


class PovertyLineSet(RequestBody):
    """A year's line and monitoring margin per person per year, integer fen (4,500 yuan = 450000)."""

    example: ClassVar[dict[str, Any]] = {"line_fen": 450000, "monitoring_margin_fen": 50000}

    line_fen: Fen = Field(gt=0)
    monitoring_margin_fen: Fen = Field(ge=0)


class PovertyLineRead(BaseModel):
    year: int
    line_fen: int
    monitoring_margin_fen: int
    set_by: str
    set_at: datetime


class IncomeRecordCreate(RequestBody):
    """Income for a year from one source, integer fen; not for a year still to come."""

    example: ClassVar[dict[str, Any]] = {
        "year": 2020,
        "source": "wages",
        "amount_fen": 320000,
        "note": "县城务工 (work in the county town)",
    }

    year: Year
    source: IncomeSource
    amount_fen: Fen = Field(ge=0)
    note: ScreenedText = Field(default="", max_length=200)


class IncomeRecordRead(BaseModel):
    id: UUID
    year: int
    source: IncomeSource
    amount_fen: int
    note: str
    recorded_by: str
    recorded_at: datetime


class IncomeRecorded(BaseModel):
    record: IncomeRecordRead
    per_capita_income_fen: int


class IncomeSummary(BaseModel):
    """The year's income against the line (人均收入 vs 贫困线): the records officers entered and the money that
    reached the household from the other services (subsidies paid, project-income shares, wages), with the year's
    records (the receipts are listed at `/transfer-receipts`)."""

    year: int
    total_fen: int = Field(description="recorded + transfer + asset + wage income: what the per-capita figure divides")
    recorded_income_fen: int = Field(description="the income records officers entered")
    transfer_income_fen: int = Field(description="subsidies paid (转移性收入), less what was reversed or recovered")
    asset_income_fen: int = Field(
        description="project-income shares (资产收益): distribution plans' shares paid, less what was reversed or "
        "recovered, and shares allocated before plans"
    )
    wage_income_fen: int = Field(
        description="wages received through the other services (工资性收入): public-welfare posts' allowances paid "
        "(less what was reversed or recovered) and employment workshops' wages; wages officers entered are "
        "recorded income",
    )
    member_count: int = Field(description="the members alive at the year's end (or today, while it runs)")
    per_capita_income_fen: int
    line_fen: int | None
    monitoring_margin_fen: int | None
    below_line: bool | None
    below_monitoring_threshold: bool | None
    records: list[IncomeRecordRead] = Field(max_length=MAX_INCOME_RECORDS_PER_YEAR)


class TransferReceiptRead(BaseModel):
    """Money that reached the household through subsidies: a subsidy paid or a project-income share, and what of
    it the year's income counts (nothing once reversed or recovered in full)."""

    receipt_id: UUID = Field(description="the payment id, or the allocation id")
    kind: TransferKind
    year: int
    policy_code: PolicyCode | None = Field(description="the programme paid; None for a project-income share")
    period: str | None = Field(
        description="the period paid (YYYY-MM, YYYY-S1, YYYY-S2 or YYYY), or the one a project-income share was "
        "earned in"
    )
    project_id: UUID | None = Field(description="the project whose income was shared; None for a subsidy")
    paid_fen: int | None = Field(description="None while only a correction of the payment is known")
    corrected_fen: int
    counted_fen: int
    status: ReceiptStatus
    received_at: datetime

"""Bodies for relapse-risk monitoring (防止返贫监测) and helper cadres (帮扶责任人)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from services.households.rules.vocabulary import MeasureKind
from services.households.schemas.common import PastDate
from shared.areas import AreaCode
from shared.contracts.households import EpisodeDecision, RiskKind
from shared.personal_data import ScreenedText
from shared.schemas import RequestBody


class RiskFlagCreate(RequestBody):
    """An officer's flag (a disaster, loss of work); income, medical-cost and disability flags are raised by the
    rules themselves when the facts are recorded."""

    kind: Literal[RiskKind.DISASTER, RiskKind.JOB_LOSS]
    detail: ScreenedText = Field(min_length=1, max_length=500)
    raised_on: PastDate


class RiskFlagRead(BaseModel):
    id: UUID
    kind: str
    detail: str
    amount_fen: int | None
    raised_on: date
    raised_by: str


class MeasureCreate(RequestBody):
    kind: MeasureKind
    description: ScreenedText = Field(min_length=1, max_length=1000)
    taken_on: PastDate


class MeasureRead(BaseModel):
    id: UUID
    kind: str
    description: str
    taken_on: date
    recorded_by: str


class EpisodeClose(RequestBody):
    """The closing decision: risk eliminated (风险消除) with evidence, or relapsed."""

    decision: EpisodeDecision
    evidence: ScreenedText = Field(
        min_length=4, max_length=2000, description="what shows the risk is gone (收入证明, 救助凭证)"
    )
    closed_on: PastDate


class EpisodeRead(BaseModel):
    id: UUID
    household_id: UUID
    status: str
    opened_on: date
    status_before: str
    closed_on: date | None
    decision: str | None
    evidence: str | None
    closed_by: str | None
    flags: list[RiskFlagRead]
    measures: list[MeasureRead]


class HelperCadreCreate(RequestBody):
    subject: str = Field(min_length=1, max_length=100, description="the login (token subject) of the cadre")
    name: ScreenedText = Field(min_length=1, max_length=100)
    unit: ScreenedText = Field(min_length=1, max_length=200, description="work unit (派出单位)")
    area_code: AreaCode


class HelperCadreRead(BaseModel):
    id: UUID
    subject: str
    name: str
    unit: str
    area_code: str
    registered_at: datetime


class CadreAssignment(RequestBody):
    helper_cadre_id: UUID

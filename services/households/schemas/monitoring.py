"""Bodies for relapse-risk monitoring (防止返贫监测) and helper cadres (帮扶责任人)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from services.households.rules.limits import MAX_EPISODE_FLAGS, MAX_EPISODE_MEASURES
from services.households.rules.vocabulary import EpisodeStatus, MeasureKind
from services.households.schemas.common import PastDate
from shared.areas import AreaCode
from shared.contracts.households import EpisodeDecision, HouseholdStatus, RiskKind
from shared.personal_data import ScreenedText
from shared.schemas import RequestBody


class RiskFlagCreate(RequestBody):
    """An officer's flag (a disaster, loss of work); income, medical-cost and disability flags are raised by the
    rules themselves when the facts are recorded."""

    example: ClassVar[dict[str, Any]] = {
        "kind": "disaster",
        "detail": "7月暴雨冲毁大棚 (a July storm destroyed the greenhouse)",
        "raised_on": "2020-07-21",
    }

    kind: Literal[RiskKind.DISASTER, RiskKind.JOB_LOSS]
    detail: ScreenedText = Field(min_length=1, max_length=500)
    raised_on: PastDate


class RiskFlagRead(BaseModel):
    id: UUID
    kind: RiskKind
    detail: str
    amount_fen: int | None
    raised_on: date
    raised_by: str


class MeasureCreate(RequestBody):
    """A help measure taken in an open episode, not before it opened."""

    example: ClassVar[dict[str, Any]] = {
        "kind": "public_welfare_job",
        "description": "安排村保洁公益岗 (a village cleaning job)",
        "taken_on": "2020-08-01",
    }

    kind: MeasureKind
    description: ScreenedText = Field(min_length=1, max_length=1000)
    taken_on: PastDate


class MeasureRead(BaseModel):
    id: UUID
    kind: MeasureKind
    description: str
    taken_on: date
    recorded_by: str


class EpisodeClose(RequestBody):
    """The closing decision: risk eliminated (风险消除) with evidence, or relapsed; not before the episode opened."""

    example: ClassVar[dict[str, Any]] = {
        "decision": "risk_eliminated",
        "evidence": "2020年人均收入5200元, 高于监测线 (income above the line)",
        "closed_on": "2020-11-30",
    }

    decision: EpisodeDecision
    evidence: ScreenedText = Field(
        min_length=4, max_length=2000, description="what shows the risk is gone (收入证明, 救助凭证)"
    )
    closed_on: PastDate


class EpisodeRead(BaseModel):
    id: UUID
    household_id: UUID
    status: EpisodeStatus
    opened_on: date
    status_before: HouseholdStatus
    closed_on: date | None
    decision: EpisodeDecision | None
    evidence: str | None
    closed_by: str | None
    flags: list[RiskFlagRead] = Field(max_length=MAX_EPISODE_FLAGS, description="each kind at most once")
    measures: list[MeasureRead] = Field(max_length=MAX_EPISODE_MEASURES)


class HelperCadreCreate(RequestBody):
    """A helper cadre (帮扶责任人) working in an area of the district; `subject` is unique."""

    example: ClassVar[dict[str, Any]] = {
        "subject": "cadre-wang",
        "name": "王帮扶",
        "unit": "区农业农村局",
        "area_code": "371523101",
    }

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
    """The helper cadre to assign; the household must lie within the cadre's area."""

    example: ClassVar[dict[str, Any]] = {"helper_cadre_id": "8c2f4e1a-5b3d-4f6e-9a7c-1d2e3f4a5b6c"}

    helper_cadre_id: UUID

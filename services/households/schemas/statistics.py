"""Bodies for statistics per area (统计)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from services.households.rules.limits import MAX_AREA_PARTS
from services.households.rules.vocabulary import AreaLevel


class AreaFiguresRead(BaseModel):
    area_code: str
    name: str | None
    households: int
    people: int
    households_by_status: dict[str, int]
    people_by_status: dict[str, int]
    gaps: dict[str, int]
    housing_cd_outstanding: int
    housing_cd_overdue: int
    housing_cd_renovated: int
    visits_by_round: dict[int, int]
    under_monitoring: int


class StatisticsRead(BaseModel):
    """An area's figures (`total`) and one level below (`parts`): townships of a district, villages of a township."""

    area_code: str
    level: AreaLevel
    year: int
    total: AreaFiguresRead
    parts: list[AreaFiguresRead] = Field(
        max_length=MAX_AREA_PARTS, description="one per area one level below (three more digits of code)"
    )

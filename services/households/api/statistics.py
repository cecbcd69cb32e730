"""Route for statistics per district / township / village."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query

from services.households.api.deps import AreaFilter, Config, StatisticsReader
from services.households.domain import statistics
from services.households.schemas.common import Year
from services.households.schemas.statistics import AreaFiguresRead, StatisticsRead
from services.households.settings import HouseholdsConfig
from shared.api.clock import Today
from shared.http import Reading

router = APIRouter(tags=["statistics"])


def _read(figures: statistics.AreaFigures, config: HouseholdsConfig) -> AreaFiguresRead:
    return AreaFiguresRead(**asdict(figures), name=config.area_name(figures.area_code))


@router.get("/statistics")
async def area_statistics(
    session: Reading,
    actor: StatisticsReader,
    config: Config,
    today: Today,
    area_code: AreaFilter,
    year: Annotated[Year | None, Query()] = None,
) -> StatisticsRead:
    """Count an area's households and gaps (统计), with one level below

    For the area asked for (default: the caller's own area when scoped, else the district) and each township or
    village in it: households and people by status, guarantee, water and income gaps, C/D houses outstanding,
    overdue and renovated, visits per round, and households under monitoring. `year` (default this year)
    chooses the income judged against that year's line and the visits counted by round; the other figures are
    the register as it stands today.
    """
    area = area_code or (actor.area if actor.is_area_scoped and actor.area else config.district_code)
    config.ensure_known_area(area)  # the caller's own area too: a token's from another district would count zeros
    actor.ensure_reach(area)
    year = year or today.year
    total, parts = await statistics.area_statistics(session, area, year=year, today=today)
    return StatisticsRead(
        area_code=area,
        level=statistics.level_of(area)[0],
        year=year,
        total=_read(total, config),
        parts=[_read(p, config) for p in parts],
    )

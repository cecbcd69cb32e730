"""Route for the register's part of the half-year report (半年工作总结)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from services.households.api.deps import Config, StatisticsReader
from services.households.domain.report import Scope, report_figures
from shared.api.clock import Now
from shared.http import Reading
from shared.reporting import ReportPart, ReportPeriod, report_period

router = APIRouter(tags=["report"])


@router.get("/report")
async def register_report(
    session: Reading,
    actor: StatisticsReader,
    config: Config,
    now: Now,
    period: Annotated[ReportPeriod, Depends(report_period)],
) -> ReportPart:
    """Report the register's figures for a period and an area (半年工作总结)

    The district office, township offices, village cadres, inspectors, auditors and the discipline commission may
    call it; an area-scoped caller reaches only its own area (403 outside it), which is also the default area
    (else the district). Refused with 422: a period ending before it starts or longer than 366 days, an area
    that is not the district or one of its townships or villages. Each figure's key is defined in the README.
    """
    area = period.area_for(actor)
    config.ensure_known_area(area)
    figures = await report_figures(session, Scope(area, period.start, period.end))
    return ReportPart(
        service="households",
        period_from=period.start,
        period_to=period.end,
        area_code=area,
        computed_at=now,
        figures=figures,
    )

"""Route of projects' part of the half-year report (半年工作总结)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from services.projects.api.deps import Reader
from services.projects.domain import report
from shared.api.clock import Now
from shared.http import Reading
from shared.reporting import ReportPart, ReportPeriod, report_period

router = APIRouter(tags=["report"])


@router.get("/report")
async def projects_report(
    session: Reading, actor: Reader, period: Annotated[ReportPeriod, Depends(report_period)], now: Now
) -> ReportPart:
    """Projects' figures for a period and an area: funds by source, projects by status, started and accepted,
    assets, income received and distributed, public-welfare posts and allowances, contracts, workshop wages

    For the district office, finance officers, inspectors, auditors, the discipline commission and services (the
    district by default), township officers and village cadres (their own area by default). Every key is
    defined in the service's README ("Report figures"); money is in fen.

    Refused: a period that ends before it starts or spans more than a year, an area that is not a 6-, 9- or 12-digit
    code (422); an area outside a township officer's or village cadre's own (403).
    """
    area = period.area_for(actor)
    figures = await report.report_figures(session, period, area)
    return ReportPart(
        service="projects",
        period_from=period.start,
        period_to=period.end,
        area_code=area,
        computed_at=now,
        figures=figures,
    )

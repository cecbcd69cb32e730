"""Route of subsidies' part of the half-year report (半年工作总结)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from services.subsidies.api.deps import CheckReader
from services.subsidies.domain import report
from shared.api.clock import Now
from shared.http import Reading
from shared.reporting import ReportPart, ReportPeriod, report_period

router = APIRouter(tags=["report"])


@router.get("/report")
async def subsidies_report(
    session: Reading, actor: CheckReader, period: Annotated[ReportPeriod, Depends(report_period)], now: Now
) -> ReportPart:
    """Subsidies' figures for a period and an area: money paid per programme, households, people and person times
    paid, new 低保 and 特困 enrolments, the monthly standards in force

    For the finance office, the district office, inspectors, auditors and the discipline commission (the whole
    district by default), and township officers (their own township by default). Every key is defined in the
    service's README ("Report figures"); money is in fen, net of the reversals and recoveries recorded in the period.

    Refused: a period that ends before it starts or spans more than a year, an area that is not a 6-, 9- or 12-digit
    code (422); an area outside a township officer's own (403).
    """
    area = period.area_for(actor)
    figures = await report.report_figures(session, period, area)
    return ReportPart(
        service="subsidies",
        period_from=period.start,
        period_to=period.end,
        area_code=area,
        computed_at=now,
        figures=figures,
    )

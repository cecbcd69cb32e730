"""Route for audit's part of the half-year report (半年工作总结)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from services.audit.api.deps import Reader
from services.audit.domain.report import Scope, report_figures
from shared.api.clock import Now
from shared.http import Reading
from shared.reporting import ReportPart, ReportPeriod, report_period

router = APIRouter(tags=["report"])


@router.get("/report")
async def audit_report(
    session: Reading, actor: Reader, now: Now, period: Annotated[ReportPeriod, Depends(report_period)]
) -> ReportPart:
    """Report the problems, rectification and referrals of a period and an area (半年工作总结)

    The district office, township offices, inspectors, auditors, the discipline commission and the services may
    call it; a township office reaches only its own township (403 outside it), which is also its default area
    (else the district). Refused with 422: a period ending before it starts or longer than 366 days, a malformed
    area.
    Counts only, never a name. Each figure's key is defined in the README.
    """
    area = period.area_for(actor)
    figures = await report_figures(session, Scope(area, period.start, period.end))
    return ReportPart(
        service="audit",
        period_from=period.start,
        period_to=period.end,
        area_code=area,
        computed_at=now,
        figures=figures,
    )

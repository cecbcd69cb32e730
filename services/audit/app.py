"""The audit and accountability service (督查问责): findings, rectification, discipline referrals, the log."""

from __future__ import annotations

from fastapi import FastAPI

from services.audit.api import routers
from services.audit.domain.coverage_checks import coverage_checks
from services.audit.domain.delivery import notification_delivery
from services.audit.domain.grievance_checks import grievance_checks
from services.audit.domain.ledger_anchors import ledger_anchoring
from services.audit.domain.scheduled import scheduled_checks
from services.audit.handlers import build_handlers
from services.audit.settings import AuditSettings
from shared.service import ServiceSpec, build_app
from shared.timeutil import utcnow


def create_app(settings: AuditSettings | None = None) -> FastAPI:
    settings = settings or AuditSettings()
    return build_app(
        ServiceSpec(
            name="audit",
            title="Audit and accountability (督查问责)",
            description=(
                "Audit owns the district's findings (问题) from every source (visits, project inspections, subsidy "
                "coverage gaps, inspectors' entries) and the rectification (整改) each one opens: its owner, deadline, "
                "evidence and independent follow-up check (回头看). Severe findings, overdue tasks and failed checks "
                "are referred to the discipline commission (纪委线索移交), serious ones weekly; the commission records "
                "its accountability decisions (问责), published as a named notice (实名制通报). Every change and every "
                "event of the platform is kept in a hash-chained, tamper-evident log that anyone auditing can verify."
            ),
            settings=settings,
            routers=routers,
            handlers=build_handlers(settings),
            workers=[
                scheduled_checks(settings, clock=utcnow),
                coverage_checks(settings, clock=utcnow),
                notification_delivery(settings, clock=utcnow),
                grievance_checks(settings, clock=utcnow),
                ledger_anchoring(settings, clock=utcnow),
            ],
        )
    )

"""The audit and accountability service (督查问责): findings, rectification, discipline referrals, the log."""

from __future__ import annotations

from fastapi import FastAPI

from services.audit.api import routers
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
            settings=settings,
            routers=routers,
            handlers=build_handlers(settings),
            workers=[scheduled_checks(settings, clock=utcnow)],
        )
    )

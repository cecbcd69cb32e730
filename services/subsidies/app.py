"""The subsidies service (政策补贴): payments, project income distributed to poor households, coverage checks."""

from __future__ import annotations

from fastapi import FastAPI

from services.subsidies.api import routers
from services.subsidies.handlers import build_handlers
from services.subsidies.settings import SubsidiesSettings
from shared.service import ServiceSpec, build_app


def create_app(settings: SubsidiesSettings | None = None) -> FastAPI:
    settings = settings or SubsidiesSettings()
    app = build_app(
        ServiceSpec(
            name="subsidies",
            title="Subsidies (政策补贴)",
            settings=settings,
            routers=routers,
            handlers=build_handlers(settings),
        )
    )
    app.state.policy_codes = settings.policy_codes
    return app

"""The households service (建档立卡户管理): the registry every other service decides from."""

from __future__ import annotations

from fastapi import FastAPI

from services.households.api import routers
from services.households.config import RegistryConfig
from services.households.handlers import handlers
from services.households.settings import HouseholdsSettings
from shared.service import ServiceSpec, build_app


def create_app(settings: HouseholdsSettings | None = None) -> FastAPI:
    settings = settings or HouseholdsSettings()
    app = build_app(
        ServiceSpec(
            name="households",
            title="Households (建档立卡户)",
            settings=settings,
            routers=routers,
            handlers=handlers,
        )
    )
    app.state.registry_config = RegistryConfig.from_settings(settings)
    return app

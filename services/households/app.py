"""The households service (建档立卡户管理): the register every other service decides from."""

from __future__ import annotations

from fastapi import FastAPI

from services.households.api import routers
from services.households.handlers import build_handlers
from services.households.settings import HouseholdsConfig, HouseholdsSettings
from shared.service import ServiceSpec, build_app

DESCRIPTION = (
    "The register of poor households (建档立卡) every other service decides from: households and members, the"
    " status lifecycle (脱贫状态), the three guarantees and safe water, income against the poverty line, helper"
    " cadres and visits, relapse-risk monitoring (防止返贫监测), department data, bulk import and statistics."
)


def create_app(settings: HouseholdsSettings | None = None) -> FastAPI:
    settings = settings or HouseholdsSettings()
    app = build_app(
        ServiceSpec(
            name="households",
            title="Households (建档立卡户)",
            description=DESCRIPTION,
            settings=settings,
            routers=routers,
            handlers=build_handlers(settings),
        )
    )
    app.state.households_config = HouseholdsConfig.from_settings(settings)
    return app

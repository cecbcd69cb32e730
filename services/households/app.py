"""The households service (建档立卡户管理): the register every other service decides from."""

from __future__ import annotations

from fastapi import FastAPI

from services.households.api import routers
from services.households.handlers import build_handlers
from services.households.settings import HouseholdsConfig, HouseholdsSettings
from shared.service import ServiceSpec, build_app

DESCRIPTION = (
    "The register of poor households (建档立卡户) every other service decides from: households and their members,"
    " ID-card numbers sealed and shown in full only on a recorded reveal, and the status lifecycle (脱贫状态) judged"
    " against the exit standard (两不愁三保障 and income above the year's poverty line). Officers and helper cadres"
    " (帮扶责任人) record visits, housing appraisals, water checks, income and relapse-risk monitoring (防止返贫监测);"
    " departments (行业部门) push their own data in bulk, row by row. Every change is published on"
    " `households.events`, and audit's findings about a household are kept while their rectification is open."
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

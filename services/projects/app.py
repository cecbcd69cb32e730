"""The industrial projects service (产业扶贫项目): project stock, inspections and income."""

from __future__ import annotations

from fastapi import FastAPI

from services.projects.api import routers
from services.projects.domain.schedule import scheduled_checks
from services.projects.handlers import build_handlers
from services.projects.settings import ProjectsSettings
from shared.service import ServiceSpec, build_app
from shared.timeutil import utcnow

DESCRIPTION = (
    "The district's stock of industrial poverty-alleviation projects (产业扶贫项目库: greenhouses, photovoltaic "
    "plants, livestock, employment workshops), their inspections (两看一及时: look at the asset, look at the "
    "operation, fix promptly) and their monthly income (收益). Every problem an inspection finds goes to audit as "
    "an event, and audit's findings come back as the project's open findings (问题整改台账). An asset's income "
    "belongs to its owner and is not shared out automatically: a distribution plan (收益分配方案) decides each "
    "entitled household's share, and once approved subsidies pays it through its batches and bank file. Scheduled "
    "checks (定期核查) report what is late as problems: overdue milestones and acceptance, expired insurance and "
    "maintenance contracts, income below an asset's agreed return or not distributed in time."
)


def create_app(settings: ProjectsSettings | None = None) -> FastAPI:
    settings = settings or ProjectsSettings()
    return build_app(
        ServiceSpec(
            name="projects",
            title="Industrial projects (产业扶贫项目)",
            description=DESCRIPTION,
            settings=settings,
            routers=routers,
            handlers=build_handlers(settings),
            workers=[scheduled_checks(settings, clock=utcnow)],
        )
    )

"""The industrial projects service (产业扶贫项目): project stock, inspections and income."""

from __future__ import annotations

from fastapi import FastAPI

from services.projects.api import routers
from services.projects.handlers import build_handlers
from services.projects.settings import ProjectsSettings
from shared.service import ServiceSpec, build_app

DESCRIPTION = (
    "The district's stock of industrial poverty-alleviation projects (产业扶贫项目库: greenhouses, photovoltaic "
    "plants, livestock, employment workshops), their inspections (两看一及时: look at the asset, look at the "
    "operation, fix promptly) and their monthly income (收益). Every problem an inspection finds goes to audit as "
    "an event, and audit's findings come back as the project's open findings (问题整改台账); every income recorded "
    "goes to subsidies, which shares it out among the poor households of the project's township (差异化分配)."
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
        )
    )

"""The industrial projects service (产业扶贫项目): project stock, inspections and income."""

from __future__ import annotations

from fastapi import FastAPI

from services.projects.api import routers
from services.projects.handlers import build_handlers
from services.projects.settings import ProjectsSettings
from shared.service import ServiceSpec, build_app


def create_app(settings: ProjectsSettings | None = None) -> FastAPI:
    settings = settings or ProjectsSettings()
    return build_app(
        ServiceSpec(
            name="projects",
            title="Industrial projects (产业扶贫项目)",
            settings=settings,
            routers=routers,
            handlers=build_handlers(settings),
        )
    )

"""HTTP routes of the projects service, one router per resource: parse, authorize, call a use case."""

from __future__ import annotations

from fastapi import APIRouter

from services.projects.api import income, inspections, open_findings, projects

routers: list[APIRouter] = [projects.router, inspections.router, income.router, open_findings.router]

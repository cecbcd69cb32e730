"""HTTP routes of the projects service, one router per resource: parse, authorize, call a use case."""

from __future__ import annotations

from fastapi import APIRouter

from services.projects.api import (
    assets,
    checks,
    contracts,
    funding,
    funds,
    income,
    inspections,
    lifecycle,
    milestones,
    open_findings,
    payrolls,
    plans,
    posts,
    projects,
    report,
    workshops,
)

routers: list[APIRouter] = [
    projects.router,
    lifecycle.router,
    milestones.router,
    contracts.router,
    funds.router,
    funding.router,
    inspections.router,
    income.router,
    open_findings.router,
    checks.router,
    assets.router,
    plans.router,
    workshops.router,
    posts.router,
    payrolls.router,
    payrolls.income_router,
    report.router,
]

"""HTTP routes of the households service, one router per concept: parse, authorize, call the domain."""

from __future__ import annotations

from fastapi import APIRouter

from services.households.api import (
    cadres,
    departments,
    guarantees,
    households,
    income,
    integrity_hits,
    members,
    monitoring,
    power_holders,
    report,
    statistics,
    visits,
)

routers: list[APIRouter] = [
    households.router,
    members.router,
    guarantees.router,
    income.router,
    visits.router,
    cadres.router,
    monitoring.router,
    departments.router,
    statistics.router,
    power_holders.router,
    integrity_hits.router,
    report.router,
]

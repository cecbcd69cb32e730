"""HTTP routes of the subsidies service, one router per resource: parse, authorize, call a use case."""

from __future__ import annotations

from fastapi import APIRouter

from services.subsidies.api import (
    bank_results,
    batches,
    corrections,
    coverage,
    cycles,
    eligibility,
    entitlement_lists,
    leakage,
    objections,
    payees,
    payments,
    programmes,
    report,
)

routers: list[APIRouter] = [
    programmes.router,
    eligibility.router,
    payments.router,
    coverage.router,
    leakage.router,
]
routers += [cycles.router, entitlement_lists.router, objections.router]
routers += [bank_results.router, corrections.router]
routers += [payees.router, batches.router]
routers += [report.router]

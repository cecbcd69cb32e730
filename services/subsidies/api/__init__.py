"""HTTP routes of the subsidies service, one router per resource: parse, authorize, call a use case."""

from __future__ import annotations

from fastapi import APIRouter

from services.subsidies.api import allocations, coverage, eligibility, incomes, leakage, payments, programmes
from services.subsidies.api import cycles, entitlement_lists, objections
from services.subsidies.api import bank_results, corrections
from services.subsidies.api import batches, payees

routers: list[APIRouter] = [
    programmes.router,
    eligibility.router,
    payments.router,
    allocations.router,
    incomes.router,
    coverage.router,
    leakage.router,
]
routers += [cycles.router, entitlement_lists.router, objections.router]
routers += [bank_results.router, corrections.router]
routers += [payees.router, batches.router]

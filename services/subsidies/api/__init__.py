"""HTTP routes of the subsidies service, one router per resource: parse, authorize, call a use case."""

from __future__ import annotations

from fastapi import APIRouter

from services.subsidies.api import allocations, coverage, incomes, payments

routers: list[APIRouter] = [payments.router, allocations.router, incomes.router, coverage.router]

"""HTTP routes of the subsidies service: parse, authorize, call the domain, shape the response."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response, status

from services.subsidies import coverage, domain
from services.subsidies.models import CoverageCheck, CoverageGap, IncomeStatus
from services.subsidies.schemas import (
    AllocationRead,
    CoverageCheckCreate,
    CoverageCheckRead,
    CoverageGapRead,
    IncomeRead,
    PaymentCreate,
    PaymentRead,
)
from shared.auth import Principal, Role, require_roles
from shared.http import Transaction

router = APIRouter(prefix="/payments", tags=["payments"])
allocations = APIRouter(prefix="/allocations", tags=["allocations"])
incomes = APIRouter(prefix="/incomes", tags=["incomes"])
coverage_checks = APIRouter(prefix="/coverage-checks", tags=["coverage checks"])

Payer = Annotated[Principal, Depends(require_roles(Role.FINANCE_OFFICER))]
Reader = Annotated[
    Principal,
    Depends(
        require_roles(
            Role.FINANCE_OFFICER,
            Role.DISTRICT_OFFICE,
            Role.AUDITOR,
            Role.DISCIPLINE_COMMISSION,
        )
    ),
]
# Township officers check and read within their own area only.
Checker = Annotated[
    Principal,
    Depends(require_roles(Role.FINANCE_OFFICER, Role.DISTRICT_OFFICE, Role.INSPECTOR, Role.TOWNSHIP_OFFICE)),
]
CheckReader = Annotated[
    Principal,
    Depends(
        require_roles(
            Role.FINANCE_OFFICER,
            Role.DISTRICT_OFFICE,
            Role.INSPECTOR,
            Role.TOWNSHIP_OFFICE,
            Role.AUDITOR,
            Role.DISCIPLINE_COMMISSION,
        )
    ),
]
Limit = Annotated[int, Query(ge=1, le=500)]


def policy_catalogue(request: Request) -> frozenset[str]:
    """The policy codes this deployment pays (SUBSIDIES_POLICY_CODES)."""
    policies: frozenset[str] = request.app.state.policy_codes
    return policies


Policies = Annotated[frozenset[str], Depends(policy_catalogue)]


@router.post("", status_code=status.HTTP_201_CREATED)
async def pay_subsidy(
    body: PaymentCreate, response: Response, session: Transaction, actor: Payer, policies: Policies
) -> PaymentRead:
    """Pay a subsidy (补贴发放) once; a retry with the same idempotency key returns the original with 200."""
    payment, created = await domain.pay_subsidy(session, body, actor=actor, policies=policies)
    if not created:
        response.status_code = status.HTTP_200_OK
    return PaymentRead(**payment.model_dump())


@router.get("")
async def list_payments(
    session: Transaction, _: Reader, household_id: UUID | None = None, limit: Limit = 100
) -> list[PaymentRead]:
    """Payments, newest first, optionally of one household."""
    payments = await domain.list_payments(session, household_id=household_id, limit=limit)
    return [PaymentRead(**p.model_dump()) for p in payments]


@router.get("/{payment_id}")
async def get_payment(payment_id: UUID, session: Transaction, _: Reader) -> PaymentRead:
    return PaymentRead(**(await domain.get_payment(session, payment_id)).model_dump())


@allocations.get("")
async def list_allocations(
    session: Transaction, _: Reader, household_id: UUID | None = None, income_id: UUID | None = None, limit: Limit = 100
) -> list[AllocationRead]:
    """Project income shared out to households (差异化分配), newest first."""
    rows = await domain.list_allocations(session, household_id=household_id, income_id=income_id, limit=limit)
    return [AllocationRead(**a.model_dump()) for a in rows]


@incomes.get("")
async def list_incomes(
    session: Transaction,
    _: Reader,
    income_status: Annotated[IncomeStatus | None, Query(alias="status")] = None,
    project_id: UUID | None = None,
    limit: Limit = 100,
) -> list[IncomeRead]:
    """Project incomes received (收益), newest first; `undistributed` ones found no household to share them."""
    rows = await domain.list_incomes(session, status=income_status, project_id=project_id, limit=limit)
    return [IncomeRead(**r.model_dump()) for r in rows]


@incomes.post("/{income_id}/distribution")
async def distribute_income(income_id: UUID, session: Transaction, _: Payer) -> IncomeRead:
    """Share out an undistributed income now that its township has registered households (差异化分配)."""
    return IncomeRead(**(await domain.distribute_pending_income(session, income_id)).model_dump())


def _check_read(check: CoverageCheck, gaps: list[CoverageGap]) -> CoverageCheckRead:
    return CoverageCheckRead(**check.model_dump(), gaps=[CoverageGapRead(**g.model_dump()) for g in gaps])


@coverage_checks.post("", status_code=status.HTTP_201_CREATED)
async def check_coverage(
    body: CoverageCheckCreate, session: Transaction, actor: Checker, policies: Policies
) -> CoverageCheckRead:
    """Check a policy's coverage (政策落实覆盖核查): each entitled household or member left unpaid goes to audit."""
    return _check_read(*await coverage.check_coverage(session, body, actor=actor, policies=policies))


@coverage_checks.get("/{check_id}")
async def get_coverage_check(check_id: UUID, session: Transaction, actor: CheckReader) -> CoverageCheckRead:
    """A coverage check as it was run, with the gaps it found then."""
    return _check_read(*await coverage.get_coverage_check(session, check_id, actor=actor))

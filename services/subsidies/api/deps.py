"""What the routes share: who may call them, the policy catalogue, and the query parameters of lists."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from shared.auth import Principal, Role, require_roles

R = Role

Payer = Annotated[Principal, Depends(require_roles(R.FINANCE_OFFICER))]
Reader = Annotated[
    Principal, Depends(require_roles(R.FINANCE_OFFICER, R.DISTRICT_OFFICE, R.AUDITOR, R.DISCIPLINE_COMMISSION))
]
# Township officers check and read within their own area only.
Checker = Annotated[
    Principal, Depends(require_roles(R.FINANCE_OFFICER, R.DISTRICT_OFFICE, R.INSPECTOR, R.TOWNSHIP_OFFICE))
]
CheckReader = Annotated[
    Principal,
    Depends(
        require_roles(
            R.FINANCE_OFFICER, R.DISTRICT_OFFICE, R.INSPECTOR, R.TOWNSHIP_OFFICE, R.AUDITOR, R.DISCIPLINE_COMMISSION
        )
    ),
]
Limit = Annotated[int, Query(ge=1, le=500)]


def policy_catalogue(request: Request) -> frozenset[str]:
    """The policy codes this deployment pays (SUBSIDIES_POLICY_CODES)."""
    policies: frozenset[str] = request.app.state.policy_codes
    return policies


Policies = Annotated[frozenset[str], Depends(policy_catalogue)]

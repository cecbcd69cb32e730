"""What the routes share: who may call them, the policy catalogue, and a payment's required Idempotency-Key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from shared.api.idempotency import KEY_PATTERN
from shared.auth import Principal, Role, require_roles
from shared.contracts.subsidies import PolicyCode

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

# Money must never be paid twice because a timed-out request was sent again: a payment cannot be made without a key.
# The key is kept with the payment, unique among all payments, for as long as the payment is kept: the domain's own
# guarantee, stronger than the shared `Idempotency` claim (per caller, kept IDEMPOTENCY_RETENTION_DAYS), so payments
# use it alone.
PaymentKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=100,
        pattern=KEY_PATTERN,
        description="Required: one key per payment (letters, digits and `._:-`; a UUID does), kept with the payment "
        "and unique among all payments. A retry with the same key and body returns the payment first made.",
        examples=["2f1c8e9a-3b7d-4c55-9f0e-6a1d2b3c4d5e"],
    ),
]


def policy_catalogue(request: Request) -> frozenset[PolicyCode]:
    """The policy codes this deployment pays (SUBSIDIES_POLICY_CODES)."""
    policies: frozenset[PolicyCode] = request.app.state.policy_codes
    return policies


Policies = Annotated[frozenset[PolicyCode], Depends(policy_catalogue)]

"""What the routes share: who may call them, and a payment's required Idempotency-Key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header

from shared.api.idempotency import KEY_PATTERN
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
# Leakage checks (资金安全核查) judge payments district-wide: run and read by the same district roles.
LeakChecker = Annotated[
    Principal,
    Depends(require_roles(R.FINANCE_OFFICER, R.DISTRICT_OFFICE, R.INSPECTOR, R.AUDITOR, R.DISCIPLINE_COMMISSION)),
]
# The programme catalogue (政策目录): kept by the district office, read by everyone who pays, checks or oversees.
CatalogueKeeper = Annotated[Principal, Depends(require_roles(R.DISTRICT_OFFICE))]
CatalogueReader = Annotated[
    Principal,
    Depends(
        require_roles(
            R.FINANCE_OFFICER, R.DISTRICT_OFFICE, R.AUDITOR, R.DISCIPLINE_COMMISSION, R.INSPECTOR, R.TOWNSHIP_OFFICE
        )
    ),
]
# Cycles (发放周期): a finance officer prepares the list (opens, computes, posts, submits, closes); a finance officer
# or the district office approves it, never whoever computed or submitted it. Township offices read within their area.
CyclePreparer = Annotated[Principal, Depends(require_roles(R.FINANCE_OFFICER))]
CycleApprover = Annotated[Principal, Depends(require_roles(R.FINANCE_OFFICER, R.DISTRICT_OFFICE))]
_CYCLE_READERS = (R.FINANCE_OFFICER, R.DISTRICT_OFFICE, R.AUDITOR, R.DISCIPLINE_COMMISSION, R.INSPECTOR)
CycleReader = Annotated[Principal, Depends(require_roles(*_CYCLE_READERS, R.TOWNSHIP_OFFICE))]
# The public notice (公示) is posted in the villages: their cadres read it and record objections raised there.
NoticeReader = Annotated[Principal, Depends(require_roles(*_CYCLE_READERS, R.TOWNSHIP_OFFICE, R.VILLAGE_CADRE))]
ObjectionRecorder = Annotated[
    Principal, Depends(require_roles(R.FINANCE_OFFICER, R.DISTRICT_OFFICE, R.TOWNSHIP_OFFICE, R.VILLAGE_CADRE))
]

# A wrong payment is reversed (冲正) by the finance office, or recovered (追回) by it or the district office.
Corrector = Annotated[Principal, Depends(require_roles(R.FINANCE_OFFICER, R.DISTRICT_OFFICE))]

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

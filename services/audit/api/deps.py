"""What the audit routes share: who may call them, the deadline policy, the dates of a period.

The request's clock is the platform's one (`shared.api.clock`): routes take `Now` from there; lists take
`shared.api.pagination.Paging`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from services.audit.rules.findings import DeadlinePolicy
from services.audit.settings import AuditSettings
from shared.auth import Principal, Role, require_roles
from shared.schemas import IsoDate


def policy(request: Request) -> DeadlinePolicy:
    settings: AuditSettings = request.app.state.runtime.settings
    return settings.deadline_policy()


Policy = Annotated[DeadlinePolicy, Depends(policy)]
From = Annotated[IsoDate, Query(alias="from", description="The period's first day (district calendar).")]
To = Annotated[IsoDate, Query(description="The period's last day, inclusive; not before `from`.")]

Reader = Annotated[
    Principal,
    Depends(
        require_roles(
            Role.DISTRICT_OFFICE,
            Role.TOWNSHIP_OFFICE,
            Role.INSPECTOR,
            Role.AUDITOR,
            Role.DISCIPLINE_COMMISSION,
            Role.SERVICE,
        )
    ),
]
CommissionReader = Annotated[
    Principal, Depends(require_roles(Role.DISCIPLINE_COMMISSION, Role.DISTRICT_OFFICE, Role.AUDITOR))
]
LedgerReader = Annotated[
    Principal, Depends(require_roles(Role.AUDITOR, Role.DISTRICT_OFFICE, Role.DISCIPLINE_COMMISSION))
]
Commission = Annotated[Principal, Depends(require_roles(Role.DISCIPLINE_COMMISSION))]
Inspector = Annotated[Principal, Depends(require_roles(Role.INSPECTOR, Role.DISTRICT_OFFICE))]
TaskWorker = Annotated[Principal, Depends(require_roles(Role.TOWNSHIP_OFFICE, Role.DISTRICT_OFFICE))]
DistrictOffice = Annotated[Principal, Depends(require_roles(Role.DISTRICT_OFFICE))]

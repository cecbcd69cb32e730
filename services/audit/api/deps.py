"""What the audit routes share: who may call them, the deadline policy, query parameters of lists and periods.

The request's clock is the platform's one (`shared.api.clock`): routes take `Now` from there.
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


def _roles(*roles: Role) -> object:
    return Depends(require_roles(*roles))


Policy = Annotated[DeadlinePolicy, Depends(policy)]
Limit = Annotated[int, Query(ge=1, le=500)]
From = Annotated[IsoDate, Query(alias="from")]  # a period's first day; `to` (an IsoDate) its last

Reader = Annotated[
    Principal,
    _roles(
        Role.DISTRICT_OFFICE,
        Role.TOWNSHIP_OFFICE,
        Role.INSPECTOR,
        Role.AUDITOR,
        Role.DISCIPLINE_COMMISSION,
        Role.SERVICE,
    ),
]
CommissionReader = Annotated[Principal, _roles(Role.DISCIPLINE_COMMISSION, Role.DISTRICT_OFFICE, Role.AUDITOR)]
Commission = Annotated[Principal, _roles(Role.DISCIPLINE_COMMISSION)]
Inspector = Annotated[Principal, _roles(Role.INSPECTOR, Role.DISTRICT_OFFICE)]
TaskWorker = Annotated[Principal, _roles(Role.TOWNSHIP_OFFICE, Role.DISTRICT_OFFICE)]
DistrictOffice = Annotated[Principal, _roles(Role.DISTRICT_OFFICE)]

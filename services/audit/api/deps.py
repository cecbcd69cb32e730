"""What the audit routes share: who may call them, the request's clock, the deadline policy."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query, Request

from services.audit.handlers import deadline_policy
from services.audit.rules import DeadlinePolicy
from shared.auth import Principal, Role, require_roles
from shared.schemas import IsoDate
from shared.timeutil import utcnow


def request_time() -> datetime:
    """The time a request acts at; tests override this dependency to move the clock."""
    return utcnow()


def policy(request: Request) -> DeadlinePolicy:
    return deadline_policy(request.app.state.runtime.settings)


def _roles(*roles: Role) -> object:
    return Depends(require_roles(*roles))


Now = Annotated[datetime, Depends(request_time)]
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

"""What the audit routes share: who may call them, the deadline policy, the dates of a period.

The request's clock is the platform's one (`shared.api.clock`): routes take `Now` from there; lists take
`shared.api.pagination.Paging`.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Query, Request

from services.audit.domain.filters import Days, Facets
from services.audit.rules.findings import DeadlinePolicy
from services.audit.settings import AuditSettings
from shared.areas import AreaCode
from shared.auth import Principal, Role, require_roles
from shared.contracts.audit import Severity
from shared.contracts.households import ProblemCategory
from shared.schemas import IsoDate, QueryText


async def policy(request: Request) -> DeadlinePolicy:
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
# Grievances (群众诉求): the district office takes the 12317 hotline and letters and visits, the commission its own
# reports, a township office those of its area; only district-wide roles triage, reply and open a contact.
GrievanceIntake = Annotated[
    Principal, Depends(require_roles(Role.DISTRICT_OFFICE, Role.DISCIPLINE_COMMISSION, Role.TOWNSHIP_OFFICE))
]
GrievanceReader = Annotated[
    Principal,
    Depends(require_roles(Role.DISTRICT_OFFICE, Role.DISCIPLINE_COMMISSION, Role.AUDITOR, Role.TOWNSHIP_OFFICE)),
]
GrievanceHandler = Annotated[Principal, Depends(require_roles(Role.DISTRICT_OFFICE, Role.DISCIPLINE_COMMISSION))]


async def finding_facets(
    area_code: Annotated[
        AreaCode | None,
        Query(
            description="Only what lies in this area: a district, township or village code and the codes it prefixes."
        ),
    ] = None,
    category: Annotated[ProblemCategory | None, Query(description="Only of findings of this category.")] = None,
    severity: Annotated[Severity | None, Query(description="Only of findings of this severity.")] = None,
    responsible_person_id: Annotated[
        QueryText | None, Query(description="Only of findings this person answers for (their login, 责任人).")
    ] = None,
    campaign_id: Annotated[UUID | None, Query(description="Only of findings this campaign recorded.")] = None,
) -> Facets:
    """The facts of findings a list is narrowed to (an area outside a township office's own is a 403)."""
    return Facets(area_code, category, severity, responsible_person_id, campaign_id)


async def days(
    start: Annotated[IsoDate | None, Query(alias="from", description="From this day (district calendar).")] = None,
    to: Annotated[IsoDate | None, Query(description="To this day, inclusive; not before `from` (else 422).")] = None,
) -> Days:
    return Days(start, to)


FindingFacets = Annotated[Facets, Depends(finding_facets)]
Span = Annotated[Days, Depends(days)]

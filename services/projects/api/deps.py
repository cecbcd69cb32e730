"""What the routes share: who may call them, and the area filter of lists."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from shared.areas import AreaCode
from shared.auth import Principal, Role, require_roles

R = Role

Registrar = Annotated[Principal, Depends(require_roles(R.DISTRICT_OFFICE, R.TOWNSHIP_OFFICE))]
# Funding lines (资金指标) are the district office's and the finance office's; spending is recorded by finance.
FundKeeper = Annotated[Principal, Depends(require_roles(R.DISTRICT_OFFICE, R.FINANCE_OFFICER))]
# Acceptance (验收) is done by an inspector or the district office, never by the project's own manager.
AcceptanceOfficer = Annotated[Principal, Depends(require_roles(R.INSPECTOR, R.DISTRICT_OFFICE))]
# Distribution plans: prepared (摸底) by a village cadre or township office, reviewed (审核) by the township office,
# approved by the district office or finance office (never the preparer), accounted for (报账) by finance.
PlanPreparer = Annotated[Principal, Depends(require_roles(R.VILLAGE_CADRE, R.TOWNSHIP_OFFICE, R.DISTRICT_OFFICE))]
PlanReviewer = Annotated[Principal, Depends(require_roles(R.TOWNSHIP_OFFICE, R.DISTRICT_OFFICE))]
PlanApprover = Annotated[Principal, Depends(require_roles(R.DISTRICT_OFFICE, R.FINANCE_OFFICER))]
Accountant = Annotated[Principal, Depends(require_roles(R.FINANCE_OFFICER))]
Inspector = Annotated[Principal, Depends(require_roles(R.INSPECTOR, R.DISTRICT_OFFICE, R.TOWNSHIP_OFFICE))]
Treasurer = Annotated[Principal, Depends(require_roles(R.FINANCE_OFFICER, R.DISTRICT_OFFICE))]
# Workshop wages are recorded by the finance officer or the township office (within reach of the workshop).
PayClerk = Annotated[Principal, Depends(require_roles(R.FINANCE_OFFICER, R.TOWNSHIP_OFFICE))]
# The posts' monthly payroll is the whole district's: prepared by the finance office, approved by a Treasurer (the
# district office or another finance officer) other than its preparer.
PayrollPreparer = Annotated[Principal, Depends(require_roles(R.FINANCE_OFFICER))]
Reader = Annotated[
    Principal,
    Depends(
        require_roles(
            R.DISTRICT_OFFICE,
            R.TOWNSHIP_OFFICE,
            R.VILLAGE_CADRE,
            R.INSPECTOR,
            R.FINANCE_OFFICER,
            R.AUDITOR,
            R.DISCIPLINE_COMMISSION,
            R.SERVICE,
        )
    ),
]
AreaFilter = Annotated[
    AreaCode | None, Query(description="only projects within this district, township or village code")
]

"""What the routes share: who may call them, and the area filter of lists."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from shared.areas import AreaCode
from shared.auth import Principal, Role, require_roles

R = Role

Registrar = Annotated[Principal, Depends(require_roles(R.DISTRICT_OFFICE, R.TOWNSHIP_OFFICE))]
Inspector = Annotated[Principal, Depends(require_roles(R.INSPECTOR, R.DISTRICT_OFFICE, R.TOWNSHIP_OFFICE))]
Treasurer = Annotated[Principal, Depends(require_roles(R.FINANCE_OFFICER, R.DISTRICT_OFFICE))]
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

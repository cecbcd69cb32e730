"""How a project's open findings read: audit's findings about it, not yet rectified and closed."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel

from shared.contracts.audit import Severity
from shared.contracts.households import ProblemCategory


class OpenFindingRead(BaseModel):
    finding_id: UUID
    category: ProblemCategory
    code: str
    severity: Severity
    description: str
    rectification_deadline: datetime | None
    referred: bool

"""How a project's open findings read: audit's findings about it, not yet rectified and closed."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel


class OpenFindingRead(BaseModel):
    finding_id: UUID
    category: str
    code: str
    severity: str
    description: str
    rectification_deadline: datetime | None
    referred: bool

"""The district's views: open tasks by group, rectification rates, referrals and decisions by month."""

from __future__ import annotations

from services.audit.schemas.common import Output, Ratio
from shared.contracts.households import ProblemCategory


class OpenTaskGroupRead(Output):
    key: str
    total: int
    overdue: int
    by_status: dict[str, int]


class RectificationRateRead(Output):
    township: str
    category: ProblemCategory
    findings: int
    closed: int
    rate: Ratio
    average_days_to_close: float | None


class PeriodActivityRead(Output):
    month: str
    referrals_by_reason: dict[str, int]
    actions_by_kind: dict[str, int]

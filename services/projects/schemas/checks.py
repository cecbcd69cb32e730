"""The answer of a run of the scheduled checks (定期核查)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

from pydantic import BaseModel, Field

from services.projects.rules.vocabulary import CheckCode

NEW = "problems reported by this run (each thing late is reported once, whichever run finds it)"


class CheckCounts(BaseModel):
    """New problems by check code."""

    milestone_overdue: int = Field(description=f"milestones not completed after their due day: {NEW}")
    acceptance_overdue: int = Field(description=f"projects not accepted (验收) by their due day: {NEW}")
    contract_expired: int = Field(description=f"projects in operation whose insurance or maintenance lapsed: {NEW}")
    income_below_return: int = Field(description=f"assets' ended years below their agreed return: {NEW}")
    income_not_distributed: int = Field(description=f"incomes with no approved plan in time: {NEW}")

    @classmethod
    def of(cls, counts: Counter[CheckCode]) -> CheckCounts:
        return cls(**{code.value: counts[code] for code in CheckCode})


class CheckRunRead(BaseModel):
    checked_at: datetime
    checked_on: date = Field(description="the district's day the checks judged")
    found: CheckCounts
    total: int

"""What audit's lists are narrowed by: the facts of the findings they are about (area, category, severity, the
responsible person, the campaign) and a span of days on each list's own date (district calendar)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, func
from sqlmodel import col

from services.audit.models import Finding, RectificationTask
from services.audit.rules.lifecycle import ACTIVE
from shared.auth import Principal
from shared.contracts.audit import Severity
from shared.contracts.households import ProblemCategory
from shared.errors import InvalidInput
from shared.timeutil import DISTRICT_TZ


@dataclass(frozen=True)
class Facets:
    """The facts of a finding a list may ask for; a list of tasks, referrals or decisions asks them of the finding
    each belongs to. `area_code` is a prefix: a township's code takes its villages."""

    area_code: str | None = None
    category: ProblemCategory | None = None
    severity: Severity | None = None
    responsible_person_id: str | None = None
    campaign_id: UUID | None = None

    def ensure_reach(self, actor: Principal) -> None:
        """Forbidden when an area-scoped actor asks for an area outside its own."""
        if self.area_code is not None:
            actor.ensure_reach(self.area_code)

    def clauses(self, severity: Any = None) -> list[ColumnElement[bool]]:
        """The conditions on `Finding`; `severity` names another column to hold the severity asked for (a
        referral's, as it was when referred)."""
        asked: list[tuple[Any, Any]] = [
            (col(Finding.category), self.category),
            (severity if severity is not None else col(Finding.severity), self.severity),
            (col(Finding.responsible_person_id), self.responsible_person_id),
            (col(Finding.campaign_id), self.campaign_id),
        ]
        found = [column == value for column, value in asked if value is not None]
        if self.area_code is not None:
            found.append(col(Finding.area_code).startswith(self.area_code))
        return found


@dataclass(frozen=True)
class Days:
    """From `since` to `until`, both inclusive, either open; `until` before `since` is refused."""

    since: date | None = None
    until: date | None = None

    def __post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.until < self.since:
            raise InvalidInput(
                "The period ends before it starts.",
                errors=[{"field": "query.to", "message": "before `from`", "code": "period_reversed"}],
            )

    def of_moments(self, column: Any) -> list[ColumnElement[bool]]:
        """Conditions on a time column: from `since` 00:00 to the end of `until`, in the district's calendar."""
        found = []
        if self.since is not None:
            found.append(column >= _midnight(self.since))
        if self.until is not None:
            found.append(column < _midnight(self.until + timedelta(days=1)))
        return found

    def of_days(self, column: Any) -> list[ColumnElement[bool]]:
        """Conditions on a date column."""
        found = []
        if self.since is not None:
            found.append(column >= self.since)
        if self.until is not None:
            found.append(column <= self.until)
        return found


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), DISTRICT_TZ)


def task_overdue(now: datetime) -> ColumnElement[bool]:
    """`rules.lifecycle.is_overdue` in SQL: still the owner's to do past its deadline (a task submitted and awaiting
    its check is not), for the overdue list and the statistics alike."""
    return and_(col(RectificationTask.status).in_(ACTIVE), col(RectificationTask.deadline) < now)


def task_done_on_time(closed_at: Any) -> ColumnElement[bool]:
    """`rules.lifecycle.is_done_on_time` in SQL: the (last) submission by the deadline, else the closing."""
    return func.coalesce(col(RectificationTask.submitted_at), closed_at) <= col(RectificationTask.deadline)

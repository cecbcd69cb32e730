"""Audit's part of the half-year report (半年工作总结, 一、工作成效): problems found and rectified, open and overdue at
the period's end, the rectification rate, reopened tasks, referrals to the discipline commission and accountability,
counted in the database (COUNT ... GROUP BY, never row by row).

The README's "Report figures" defines every key. A finding belongs to the area of its `area_code` and is found on
its `found_on` (the day the visit, check or inspection found it); a finding recorded before that day was kept is
found on the district day audit recorded it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.audit.models import (
    AccountabilityAction,
    DisciplineReferral,
    Finding,
    FollowUpCheck,
    Grievance,
    RectificationTask,
)
from services.audit.rules.campaigns import COVERAGE_FINDING_CODE
from services.audit.rules.grievances import UNANSWERED_CODE
from services.audit.rules.periods import district_span
from services.audit.rules.referrals import ReferralReason
from services.audit.rules.responsibility import LATE_REPORTING
from shared.contracts.audit import AccountabilityKind, SubjectKind
from shared.reporting import Figure, Unit, split, with_total

BASIS_POINTS = 10_000
TOWNSHIP = func.substr(col(Finding.area_code), 1, 9)

# Where a finding came from, first match wins: audit's own checks of how problems are reported and answered; a
# grievance triaged into it; an inspection campaign (its coverage check included); an inspector's own record; a
# project's inspection or check; a subsidy coverage or leakage check; a household's problem (a visit, a department's
# data, relapse monitoring or the integrity checks: households does not tell audit which).
ORIGIN = case(
    (col(Finding.code).in_([LATE_REPORTING, UNANSWERED_CODE]), "audit_check"),
    (col(Finding.id).in_(select(col(Grievance.finding_id)).where(col(Grievance.finding_id).is_not(None))), "grievance"),
    (or_(col(Finding.campaign_id).is_not(None), col(Finding.code) == COVERAGE_FINDING_CODE), "campaign"),
    (col(Finding.recorded_by).is_not(None), "inspector"),
    (col(Finding.subject_kind) == SubjectKind.PROJECT, "project"),
    (or_(col(Finding.subject_kind) == SubjectKind.PAYMENT, col(Finding.code).startswith("unpaid_")), "subsidy_check"),
    (col(Finding.subject_kind) == SubjectKind.HOUSEHOLD, "household"),
    else_="other",
)
ORIGINS = ["audit_check", "campaign", "grievance", "household", "inspector", "other", "project", "subsidy_check"]


@dataclass(frozen=True)
class Scope:
    """An area (a code prefix) and a period, both days included, in the district's calendar."""

    area_code: str
    start: date
    end: date

    @property
    def span(self) -> tuple[datetime, datetime]:
        return district_span(self.start, self.end)

    def in_area(self) -> ColumnElement[bool]:
        return col(Finding.area_code).startswith(self.area_code)

    def found_in_period(self) -> ColumnElement[bool]:
        since, until = self.span
        recorded = and_(col(Finding.opened_at) >= since, col(Finding.opened_at) < until)
        return or_(col(Finding.found_on).between(self.start, self.end), and_(col(Finding.found_on).is_(None), recorded))

    def found_by_end(self) -> ColumnElement[bool]:
        recorded = col(Finding.opened_at) < self.span[1]
        return or_(col(Finding.found_on) <= self.end, and_(col(Finding.found_on).is_(None), recorded))

    def open_at_end(self) -> tuple[ColumnElement[bool], ...]:
        still_open = or_(col(Finding.closed_at).is_(None), col(Finding.closed_at) >= self.span[1])
        return self.in_area(), self.found_by_end(), still_open

    def moments(self, moment: Any) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
        since, until = self.span
        return moment >= since, moment < until


class _Counter:
    def __init__(self, session: AsyncSession, scope: Scope) -> None:
        self.session, self.scope = session, scope

    async def by(self, stmt: Select[Any]) -> dict[str, int]:
        return {str(k): int(n) for k, n in (await self.session.execute(stmt)).tuples().all()}

    def findings(self, dim: Any, *conditions: ColumnElement[bool]) -> Select[Any]:
        return select(dim, func.count()).select_from(Finding).where(*conditions).group_by(dim)


def _rates(found: dict[str, int], closed: dict[str, int]) -> dict[str, int]:
    return {k: closed.get(k, 0) * BASIS_POINTS // n for k, n in found.items() if n}


async def _found_and_rectified(c: _Counter) -> list[Figure]:
    s = c.scope
    found = (s.in_area(), s.found_in_period())
    closed_by_end = (*found, col(Finding.closed_at) < s.span[1])
    by_township = await c.by(c.findings(TOWNSHIP, *found))
    closed_by_township = await c.by(c.findings(TOWNSHIP, *closed_by_end))
    found_total, closed_total = sum(by_township.values()), sum(closed_by_township.values())
    rectified = c.findings(TOWNSHIP, s.in_area(), *s.moments(col(Finding.closed_at)))
    figures = [
        *with_total("findings.found", Unit.PROBLEMS, "origin", await c.by(c.findings(ORIGIN, *found)), ORIGINS),
        *split("findings.found", Unit.PROBLEMS, "township", by_township),
        *split("findings.found", Unit.PROBLEMS, "category", await c.by(c.findings(col(Finding.category), *found))),
        *split("findings.found", Unit.PROBLEMS, "severity", await c.by(c.findings(col(Finding.severity), *found))),
        *with_total("findings.rectified", Unit.PROBLEMS, "township", await c.by(rectified)),
    ]
    if found_total:  # a rate of nothing found is not a rate
        rate = closed_total * BASIS_POINTS // found_total
        figures.append(Figure(key="findings.rectification_rate", value=rate, unit=Unit.PERCENT_BP))
        figures += split(
            "findings.rectification_rate", Unit.PERCENT_BP, "township", _rates(by_township, closed_by_township)
        )
    return figures


async def _open_and_overdue(c: _Counter) -> list[Figure]:
    s = c.scope
    still_open = c.findings(TOWNSHIP, *s.open_at_end())
    overdue = still_open.join(RectificationTask, col(RectificationTask.finding_id) == col(Finding.id))
    overdue = overdue.where(col(RectificationTask.deadline) < s.span[1])
    return [
        *with_total("findings.open", Unit.PROBLEMS, "township", await c.by(still_open)),
        *with_total("findings.overdue", Unit.PROBLEMS, "township", await c.by(overdue)),
    ]


async def _reopened_and_referred(c: _Counter) -> list[Figure]:
    s = c.scope
    failed = (
        select(TOWNSHIP, func.count(func.distinct(col(FollowUpCheck.task_id))))
        .select_from(FollowUpCheck)
        .join(RectificationTask, col(RectificationTask.id) == col(FollowUpCheck.task_id))
        .join(Finding, col(Finding.id) == col(RectificationTask.finding_id))
        .where(s.in_area(), col(FollowUpCheck.passed).is_(False), *s.moments(col(FollowUpCheck.checked_at)))
        .group_by(TOWNSHIP)
    )
    referrals = (
        select(col(DisciplineReferral.reason), TOWNSHIP)
        .join(Finding, col(Finding.id) == col(DisciplineReferral.finding_id))
        .where(s.in_area(), *s.moments(col(DisciplineReferral.referred_at)))
        .subquery()
    )
    by_reason = select(referrals.c.reason, func.count()).group_by(referrals.c.reason)
    by_township = select(referrals.c[1], func.count()).group_by(referrals.c[1])
    actions = (
        select(col(AccountabilityAction.kind), func.count())
        .join(Finding, col(Finding.id) == col(AccountabilityAction.finding_id))
        .where(s.in_area(), col(AccountabilityAction.decided_on).between(s.start, s.end))
        .group_by(col(AccountabilityAction.kind))
    )
    return [
        *with_total("tasks.reopened", Unit.TASKS, "township", await c.by(failed)),
        *with_total(
            "referrals.made", Unit.REFERRALS, "reason", await c.by(by_reason), [r.value for r in ReferralReason]
        ),
        *split("referrals.made", Unit.REFERRALS, "township", await c.by(by_township)),
        *with_total(
            "accountability.decisions",
            Unit.PERSON_TIMES,
            "kind",
            await c.by(actions),
            [k.value for k in AccountabilityKind],
        ),
    ]


async def report_figures(session: AsyncSession, scope: Scope) -> list[Figure]:
    """Every figure audit holds for the scope, in the README's order."""
    c = _Counter(session, scope)
    return [*await _found_and_rectified(c), *await _open_and_overdue(c), *await _reopened_and_referred(c)]

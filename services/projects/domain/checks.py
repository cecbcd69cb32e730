"""The scheduled checks (定期核查): what a project's neglect has left late, each found by one query and reported once.

- `milestone_overdue`: a milestone not completed after its due day, on a project not closed;
- `acceptance_overdue`: a project not accepted (验收) by its due day;
- `contract_expired`: the latest insurance or maintenance contract of a kind of a project in operation expired;
- `income_below_return`: an asset of a project not closed earned less in an ended year than its agreed return (a
  closed project's income is no longer recorded, so its assets are no longer judged);
- `income_not_distributed`: an income with no approved plan `income_distribution_days` after it arrived.

Each query leaves out what a check already reported (`subject_ref`), so a run finds only what is new. The problems
of one project are reported in a claim of its row (`FOR UPDATE SKIP LOCKED` on PostgreSQL): runs at the same time
(replicas, the worker and `POST /v1/checks`) report each problem once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, ColumnElement, Integer, String, and_, cast, exists, extract, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, aliased
from sqlmodel import col

from services.projects.domain.problems import report_problem
from services.projects.models import (
    DistributionPlan,
    Project,
    ProjectAsset,
    ProjectContract,
    ProjectIncome,
    ProjectMilestone,
    ProjectProblem,
)
from services.projects.rules import checks as rules
from services.projects.rules.vocabulary import CheckCode, PlanStatus, ProblemOrigin, ProjectStatus
from shared.contracts.audit import Severity
from shared.timeutil import DISTRICT_TZ

NOT_ACCEPTED = (
    ProjectStatus.PLANNED,
    ProjectStatus.APPROVED,
    ProjectStatus.UNDER_CONSTRUCTION,
    ProjectStatus.COMPLETED,
)
IN_OPERATION = (ProjectStatus.ACCEPTED, ProjectStatus.OPERATING)
DISTRIBUTED = (PlanStatus.APPROVED, PlanStatus.PAID, PlanStatus.ACCOUNTED)
Column = Mapped[Any] | ColumnElement[Any]


@dataclass(frozen=True)
class Lapse:
    """One thing a check found late: the problem it is reported as."""

    project_id: UUID
    code: CheckCode
    subject_ref: str
    description: str

    @property
    def severity(self) -> Severity:
        return rules.SEVERITY[self.code]


def _plain(text: Column) -> ColumnElement[str]:
    # A uuid is text with dashes on PostgreSQL and 32 hex digits on SQLite: compared without dashes, both match the
    # `subject_ref` a check wrote (str(uuid), a date, "asset:year").
    return func.replace(text, "-", "")


def _reported(project_id: Column, code: CheckCode, subject: Column) -> ColumnElement[bool]:
    """A check already reported `code` about `subject` of the project."""
    return exists().where(
        col(ProjectProblem.project_id) == project_id,
        col(ProjectProblem.code) == code.value,
        col(ProjectProblem.origin) == ProblemOrigin.CHECK.value,
        _plain(col(ProjectProblem.subject_ref)) == _plain(subject),
    )


def _text(column: Column) -> ColumnElement[str]:
    return cast(column, String)


async def milestones_overdue(session: AsyncSession, *, today: date) -> list[Lapse]:
    code = CheckCode.MILESTONE_OVERDUE
    stmt = (
        select(ProjectMilestone)
        .join(Project, col(Project.id) == col(ProjectMilestone.project_id))
        .where(
            col(ProjectMilestone.completed_on).is_(None),
            col(ProjectMilestone.due_on) < today,
            col(Project.status) != ProjectStatus.CLOSED,
            ~_reported(col(ProjectMilestone.project_id), code, _text(col(ProjectMilestone.id))),
        )
    )
    return [
        Lapse(m.project_id, code, str(m.id), rules.describe_milestone(m.name, m.due_on, m.progress_pct, today=today))
        for m in (await session.scalars(stmt)).all()
    ]


async def acceptances_overdue(session: AsyncSession, *, today: date) -> list[Lapse]:
    code, due_on = CheckCode.ACCEPTANCE_OVERDUE, col(Project.acceptance_due_on)
    stmt = select(col(Project.id), due_on, col(Project.status)).where(
        due_on < today,
        col(Project.status).in_(NOT_ACCEPTED),
        ~_reported(col(Project.id), code, _text(due_on)),
    )
    return [
        Lapse(project_id, code, due.isoformat(), rules.describe_acceptance(status, due, today=today))
        for project_id, due, status in (await session.execute(stmt)).all()
    ]


async def contracts_expired(session: AsyncSession, *, today: date) -> list[Lapse]:
    """The latest contract of each kind (by expiry) of a project in operation, expired: being the latest, no
    contract of its kind covers today."""
    code, contract, later = CheckCode.CONTRACT_EXPIRED, ProjectContract, aliased(ProjectContract, name="later")
    superseded = exists().where(
        col(later.project_id) == col(contract.project_id),
        col(later.kind) == col(contract.kind),
        or_(
            col(later.expires_on) > col(contract.expires_on),
            and_(col(later.expires_on) == col(contract.expires_on), col(later.id) > col(contract.id)),
        ),
    )
    stmt = (
        select(contract)
        .join(Project, col(Project.id) == col(contract.project_id))
        .where(
            col(Project.status).in_(IN_OPERATION),
            col(contract.expires_on) < today,
            ~superseded,
            ~_reported(col(contract.project_id), code, _text(col(contract.id))),
        )
    )
    return [
        Lapse(c.project_id, code, str(c.id), rules.describe_contract(c.kind, c.provider, c.expires_on, today=today))
        for c in (await session.scalars(stmt)).all()
    ]


async def incomes_below_return(session: AsyncSession, *, today: date) -> list[Lapse]:
    """Each asset of a project not closed with each ended year from its registration's, with the income recorded
    for the year's months (0 when none); the rules judge which years count and fell short."""
    code = CheckCode.INCOME_BELOW_RETURN
    registered_year = cast(extract("year", col(ProjectAsset.registered_on)), Integer)
    years = select(select(func.min(registered_year)).scalar_subquery().label("year")).cte("years", recursive=True)
    years = years.union_all(select((years.c.year + 1).label("year")).where(years.c.year + 1 < today.year))
    income_year = cast(func.substr(col(ProjectIncome.period), 1, 4), Integer)
    received = (
        select(
            col(ProjectIncome.asset_id).label("asset_id"),
            income_year.label("year"),
            cast(func.sum(col(ProjectIncome.amount_fen)), BigInteger).label("fen"),
        )
        .where(col(ProjectIncome.asset_id).is_not(None))
        .group_by(col(ProjectIncome.asset_id), income_year)
        .subquery()
    )
    subject = _text(col(ProjectAsset.id)) + ":" + _text(years.c.year)
    stmt = (
        select(ProjectAsset, years.c.year, func.coalesce(received.c.fen, 0))
        .join(Project, col(Project.id) == col(ProjectAsset.project_id))
        .join(years, years.c.year >= registered_year)
        .outerjoin(received, and_(received.c.asset_id == col(ProjectAsset.id), received.c.year == years.c.year))
        .where(
            years.c.year < today.year,
            col(Project.status) != ProjectStatus.CLOSED,
            ~_reported(col(ProjectAsset.project_id), code, subject),
        )
    )
    lapses = []
    for asset, year, fen in (await session.execute(stmt)).all():
        if year not in rules.judged_years(asset.registered_on, today=today):
            continue
        value, rate = asset.value_fen, asset.agreed_return_bp
        shortfall = rules.return_shortfall(
            value_fen=value, agreed_return_bp=rate, registered_on=asset.registered_on, year=year, received_fen=int(fen)
        )
        if shortfall is not None:
            description = rules.describe_shortfall(asset.description, value, rate, shortfall)
            lapses.append(Lapse(asset.project_id, code, f"{asset.id}:{year}", description))
    return lapses


async def incomes_not_distributed(session: AsyncSession, *, today: date, days: int) -> list[Lapse]:
    """Incomes of an asset (those recorded before assets name none: they were shared out as they came) that
    arrived before the cutoff, on `received_on` or else the district's day they were recorded, with no plan
    approved, paid or accounted for."""
    cutoff = rules.distribution_cutoff(today=today, days=days)
    arrived_late = or_(
        col(ProjectIncome.received_on) < cutoff,
        and_(
            col(ProjectIncome.received_on).is_(None),
            col(ProjectIncome.recorded_at) < datetime.combine(cutoff, time(), DISTRICT_TZ),
        ),
    )
    planned = exists().where(
        col(DistributionPlan.income_id) == col(ProjectIncome.id), col(DistributionPlan.status).in_(DISTRIBUTED)
    )
    code = CheckCode.INCOME_NOT_DISTRIBUTED
    stmt = select(ProjectIncome).where(
        col(ProjectIncome.asset_id).is_not(None),
        arrived_late,
        ~planned,
        ~_reported(col(ProjectIncome.project_id), code, _text(col(ProjectIncome.id))),
    )
    lapses = []
    for income in (await session.scalars(stmt)).all():
        arrived_on = income.received_on or income.recorded_at.astimezone(DISTRICT_TZ).date()
        description = rules.describe_undistributed(income.period, income.amount_fen, arrived_on, today=today, days=days)
        lapses.append(Lapse(income.project_id, code, str(income.id), description))
    return lapses


async def find_lapses(session: AsyncSession, *, today: date, distribution_days: int) -> dict[UUID, list[Lapse]]:
    """Everything late on `today` that no check reported yet, by project."""
    found = [
        *await milestones_overdue(session, today=today),
        *await acceptances_overdue(session, today=today),
        *await contracts_expired(session, today=today),
        *await incomes_below_return(session, today=today),
        *await incomes_not_distributed(session, today=today, days=distribution_days),
    ]
    by_project: dict[UUID, list[Lapse]] = {}
    for lapse in found:
        by_project.setdefault(lapse.project_id, []).append(lapse)
    return by_project


async def report_lapses(
    session: AsyncSession, project_id: UUID, lapses: list[Lapse], *, today: date, found_by: str
) -> list[CheckCode]:
    """Report a project's lapses in a claim of its row: the codes of the problems reported. Nothing when another
    run holds the row (that run reports them); what a run that held it meanwhile reported is not reported again
    (`report_problem`)."""
    claim = select(Project).where(col(Project.id) == project_id).with_for_update(skip_locked=True)
    project = (await session.scalars(claim)).first()
    if project is None:
        return []
    reported = []
    for lapse in lapses:
        problem = await report_problem(
            session,
            project,
            code=lapse.code.value,
            description=lapse.description,
            found_on=today,
            found_by=found_by,
            origin=ProblemOrigin.CHECK,
            severity=lapse.severity,
            subject_ref=lapse.subject_ref,
        )
        if problem is not None:
            reported.append(lapse.code)
    return reported


async def run_checks(
    session: AsyncSession, *, today: date, distribution_days: int, found_by: str
) -> Counter[CheckCode]:
    """Every check on the district's day `today`, in the session's transaction: the problems reported, by code."""
    counts: Counter[CheckCode] = Counter()
    by_project = await find_lapses(session, today=today, distribution_days=distribution_days)
    for project_id in sorted(by_project):
        counts.update(await report_lapses(session, project_id, by_project[project_id], today=today, found_by=found_by))
    return counts

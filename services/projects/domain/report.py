"""Projects' part of the half-year report (工作成效: 扶贫项目建设管理): funds by source, projects by status, started and
accepted, assets, income received and distributed, public-welfare posts, contracts and workshop wages.

Every figure is one aggregate query (SUM / COUNT / GROUP BY in the database) filtered by the dates the README names
and by the area the project, asset, post or workshop is in; the definitions are in the service's README.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects.domain.funds import total, year_totals
from services.projects.models import (
    DistributionPlan,
    Payroll,
    PayrollLine,
    PlanSetAside,
    PlanShare,
    PostHolding,
    Project,
    ProjectAcceptance,
    ProjectAsset,
    ProjectContract,
    ProjectIncome,
    ProjectStatusChange,
    PublicWelfarePost,
    Workshop,
    WorkshopEmployment,
    WorkshopWage,
)
from services.projects.rules.funds import Money
from services.projects.rules.vocabulary import ContractKind, ProjectStatus, SetAsidePurpose
from shared.reporting import Figure, ReportPeriod, Unit


async def report_figures(session: AsyncSession, period: ReportPeriod, area_prefix: str) -> list[Figure]:
    """The figures of the period (both days included) within `area_prefix` ("" for the whole district)."""
    figures = await _funds(session, period, area_prefix)
    figures += await _projects(session, period, area_prefix)
    figures += await _income(session, period, area_prefix)
    figures += await _posts(session, period, area_prefix)
    return figures + await _contracts_and_workshops(session, period, area_prefix)


def _money_figures(prefix: str, money: Money, by: dict[str, str]) -> list[Figure]:
    return [
        Figure(key=f"{prefix}.allocated", value=money.allocated_fen, unit=Unit.FEN, by=by),
        Figure(key=f"{prefix}.drawn", value=money.drawn_fen, unit=Unit.FEN, by=by),
        Figure(key=f"{prefix}.spent", value=money.spent_fen, unit=Unit.FEN, by=by),
    ]


async def _funds(session: AsyncSession, period: ReportPeriod, area_prefix: str) -> list[Figure]:
    """`funds.*` by source and `funds.higher_levels.*`: the lines of the year the period ends in, spent by its end."""
    totals = await year_totals(session, year=period.end.year, area_prefix=area_prefix, spent_by=period.end)
    figures: list[Figure] = []
    for source, money in totals.by_source.items():
        figures += _money_figures("funds", money, {"source": source.value})
    return figures + _money_figures("funds.higher_levels", totals.higher_levels, {})


def _in(column: Any, period: ReportPeriod) -> Any:
    return and_(column >= period.start, column <= period.end)


def _at(column: Any, period: ReportPeriod) -> Any:
    return and_(column >= period.starts_at, column < period.ends_before)


async def _count_by(session: AsyncSession, stmt: Select[Any]) -> dict[str, int]:
    return {str(key): int(value) for key, value in (await session.execute(stmt)).all()}


async def _projects(session: AsyncSession, period: ReportPeriod, area_prefix: str) -> list[Figure]:
    """`projects.by_status` at the period's end, `projects.started` by township, `projects.accepted`."""
    status_then = (
        select(col(ProjectStatusChange.to_status))
        .where(
            col(ProjectStatusChange.project_id) == col(Project.id), col(ProjectStatusChange.effective_on) <= period.end
        )
        .order_by(col(ProjectStatusChange.effective_on).desc(), col(ProjectStatusChange.changed_at).desc())
        .limit(1)
        .scalar_subquery()
    )
    within = col(Project.area_code).startswith(area_prefix)
    status = func.coalesce(status_then, ProjectStatus.PLANNED.value).label("status")
    standing = select(status).where(within, col(Project.started_on) <= period.end).subquery()
    by_status = await _count_by(session, select(standing.c.status, func.count()).group_by(standing.c.status))
    township = func.substr(col(Project.area_code), 1, 9)
    started = await _count_by(
        session,
        select(township, func.count()).where(within, _in(col(Project.started_on), period)).group_by(township),
    )
    accepted = await session.scalar(
        select(func.count(distinct(col(ProjectAcceptance.project_id))))
        .join(Project, col(Project.id) == col(ProjectAcceptance.project_id))
        .where(within, col(ProjectAcceptance.passed), _in(col(ProjectAcceptance.accepted_on), period))
    )
    return (
        [
            Figure(key="projects.by_status", value=by_status.get(s, 0), unit=Unit.PROJECTS, by={"status": s})
            for s in ProjectStatus
        ]
        + [
            Figure(key="projects.started", value=n, unit=Unit.PROJECTS, by={"township": code})
            for code, n in sorted(started.items())
        ]
        + [Figure(key="projects.accepted", value=int(accepted or 0), unit=Unit.PROJECTS)]
    )


async def _income(session: AsyncSession, period: ReportPeriod, area_prefix: str) -> list[Figure]:
    """`assets.*` at the period's end, `income.received`, and the plans approved and shares paid in the period."""
    assets = (
        await session.execute(
            select(func.count(), total(ProjectAsset.value_fen)).where(
                col(ProjectAsset.owner_area_code).startswith(area_prefix), col(ProjectAsset.registered_on) <= period.end
            )
        )
    ).one()
    received_on = col(ProjectIncome.received_on)
    received = await session.scalar(
        select(total(ProjectIncome.amount_fen))
        .join(Project, col(Project.id) == col(ProjectIncome.project_id))
        .where(
            col(Project.area_code).startswith(area_prefix),
            or_(
                _in(received_on, period),
                and_(
                    received_on.is_(None),
                    col(ProjectIncome.period) >= period.months[0],
                    col(ProjectIncome.period) <= period.months[1],
                ),
            ),
        )
    )
    plans = col(DistributionPlan.owner_area_code).startswith(area_prefix)
    approved = _at(col(DistributionPlan.approved_at), period)
    distributed = await session.scalar(select(total(DistributionPlan.amount_fen)).where(plans, approved))
    set_aside = await _count_by(
        session,
        select(col(PlanSetAside.purpose), total(PlanSetAside.amount_fen))
        .join(DistributionPlan, col(DistributionPlan.id) == col(PlanSetAside.plan_id))
        .where(plans, approved)
        .group_by(col(PlanSetAside.purpose)),
    )
    paid = (
        await session.execute(
            select(total(PlanShare.amount_fen), func.count(distinct(col(PlanShare.household_id))))
            .join(DistributionPlan, col(DistributionPlan.id) == col(PlanShare.plan_id))
            .where(plans, col(PlanShare.status) == "paid", _at(col(PlanShare.paid_at), period))
        )
    ).one()
    return [
        Figure(key="assets.registered", value=int(assets[0]), unit=Unit.ASSETS),
        Figure(key="assets.value", value=int(assets[1]), unit=Unit.FEN),
        Figure(key="income.received", value=int(received or 0), unit=Unit.FEN),
        Figure(key="income.distribution_approved", value=int(distributed or 0), unit=Unit.FEN),
        *[
            Figure(key="income.set_aside", value=set_aside.get(p, 0), unit=Unit.FEN, by={"purpose": p})
            for p in SetAsidePurpose
        ],
        Figure(key="income.shares_paid", value=int(paid[0]), unit=Unit.FEN),
        Figure(key="income.households_paid", value=int(paid[1]), unit=Unit.HOUSEHOLDS),
    ]


async def _posts(session: AsyncSession, period: ReportPeriod, area_prefix: str) -> list[Figure]:
    """`posts.held` at the period's end and `posts.allowances` of the payrolls approved in the period."""
    posts = col(PublicWelfarePost.area_code).startswith(area_prefix)
    held = await session.scalar(
        select(func.count(distinct(col(PostHolding.post_id))))
        .join(PublicWelfarePost, col(PublicWelfarePost.id) == col(PostHolding.post_id))
        .where(
            posts,
            col(PostHolding.started_on) <= period.end,
            or_(col(PostHolding.ended_on).is_(None), col(PostHolding.ended_on) >= period.end),
        )
    )
    allowances = (
        await session.execute(
            select(total(PayrollLine.amount_fen), func.count(distinct(col(PayrollLine.member_id))))
            .join(Payroll, col(Payroll.id) == col(PayrollLine.payroll_id))
            .join(PublicWelfarePost, col(PublicWelfarePost.id) == col(PayrollLine.post_id))
            .where(posts, _at(col(Payroll.approved_at), period))
        )
    ).one()
    return [
        Figure(key="posts.held", value=int(held or 0), unit=Unit.POSTS),
        Figure(key="posts.allowances", value=int(allowances[0]), unit=Unit.FEN),
        Figure(key="posts.allowance_people", value=int(allowances[1]), unit=Unit.PEOPLE),
    ]


async def _contracts_and_workshops(session: AsyncSession, period: ReportPeriod, area_prefix: str) -> list[Figure]:
    """`contracts.cost` by kind (starting in the period), `workshops.wages` and `workshops.employed`."""
    costs = await _count_by(
        session,
        select(col(ProjectContract.kind), total(ProjectContract.cost_fen))
        .join(Project, col(Project.id) == col(ProjectContract.project_id))
        .where(col(Project.area_code).startswith(area_prefix), _in(col(ProjectContract.starts_on), period))
        .group_by(col(ProjectContract.kind)),
    )
    workshops = col(Workshop.area_code).startswith(area_prefix)
    wages = await session.scalar(
        select(total(WorkshopWage.amount_fen))
        .join(Workshop, col(Workshop.id) == col(WorkshopWage.workshop_id))
        .where(workshops, col(WorkshopWage.period) >= period.months[0], col(WorkshopWage.period) <= period.months[1])
    )
    employed = await session.scalar(
        select(func.count(distinct(col(WorkshopEmployment.member_id))))
        .join(Workshop, col(Workshop.id) == col(WorkshopEmployment.workshop_id))
        .where(
            workshops,
            col(WorkshopEmployment.started_on) <= period.end,
            or_(col(WorkshopEmployment.ended_on).is_(None), col(WorkshopEmployment.ended_on) >= period.end),
        )
    )
    return [
        *[
            Figure(key="contracts.cost", value=costs.get(kind, 0), unit=Unit.FEN, by={"kind": kind})
            for kind in ContractKind
        ],
        Figure(key="workshops.wages", value=int(wages or 0), unit=Unit.FEN),
        Figure(key="workshops.employed", value=int(employed or 0), unit=Unit.PEOPLE),
    ]

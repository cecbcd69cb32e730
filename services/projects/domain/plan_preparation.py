"""Preparing a distribution plan (摸底): an asset's income shared among the entitled households of its owner's village
or township under a declared rule, each share kept with the facts it was decided on and its explanation.

Entitled: on the household roll within the owner's area, in poverty, exited but still receiving policies, monitored
or relapsed (never exited without policies), with a living member. The roll is read in one query and the shares are
written in one executemany statement: a plan covers up to MAX_PLAN_SHARES households. The same test is made again,
in one query, when the plan is approved (`outdated_households`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Table, and_, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects.domain.plan_events import plan_changed
from services.projects.models import (
    DistributionPlan,
    PlanSetAside,
    PlanShare,
    ProjectAsset,
    ProjectIncome,
    RollHousehold,
    RollMember,
)
from services.projects.rules.categories import MemberFacts, categories_of
from services.projects.rules.distribution import Division, divide, explain, weight_of
from services.projects.rules.vocabulary import HouseholdCategory, PlanStatus, ShareStatus
from services.projects.schemas.plans import PlanCreate
from shared.auth import Principal
from shared.contracts.households import HouseholdStatus
from shared.contracts.projects import MAX_PLAN_SHARES
from shared.errors import Conflict, NotFound
from shared.ids import uuid7

ENTITLED = frozenset(
    {
        HouseholdStatus.IN_POVERTY,
        HouseholdStatus.EXITED_RECEIVING_POLICIES,
        HouseholdStatus.MONITORED,
        HouseholdStatus.RELAPSED,
    }
)
SHARES: Table = PlanShare.__table__  # type: ignore[attr-defined]  # core executemany: no ORM bookkeeping per share
PLAN_EXISTS = "This income already has a plan that is not rejected."


@dataclass
class Entitled:
    """A household the plan may share with, as the roll stands, and what the rule makes of it."""

    household_id: UUID
    area_code: str
    status: str
    living_members: int
    members: list[MemberFacts] = field(default_factory=list)
    categories: frozenset[HouseholdCategory] = frozenset()
    weight: int = 0


async def prepare_plan(
    session: AsyncSession, data: PlanCreate, *, actor: Principal, today: date, now: datetime
) -> DistributionPlan:
    """Prepare a plan (摸底) for an asset's income: the households' categories are judged on `today`."""
    income, asset = await _income_to_plan(session, data.income_id, actor=actor)
    households = await entitled_households(session, asset.owner_area_code)
    if not households:
        raise Conflict("No entitled household of the owner's area is on the roll.", code="no_households")
    if len(households) > MAX_PLAN_SHARES:
        raise Conflict(f"A plan shares among at most {MAX_PLAN_SHARES} households.", code="plan_too_large")
    points = data.category_points.by_category() if data.category_points else None
    for h in households:
        h.categories = categories_of(h.members, living_members=h.living_members, on=today)
        h.weight = weight_of(data.basis, living_members=h.living_members, categories=h.categories, points=points)
    set_asides = {s.purpose.value: s.share_bp for s in data.set_asides}
    weights = {h.household_id: h.weight for h in households}
    division = divide(income.amount_fen, set_asides_bp=set_asides, weights=weights)
    if division.shared_fen == 0:
        raise Conflict("Nothing is left to share once the set-asides are kept back.", code="nothing_to_share")
    plan = DistributionPlan(
        income_id=income.id,
        project_id=income.project_id,
        asset_id=asset.id,
        owner_area_code=asset.owner_area_code,
        period=income.period,
        status=PlanStatus.PREPARED.value,
        rule=_declared_rule(data, points, today),
        amount_fen=income.amount_fen,
        set_aside_fen=sum(division.set_asides.values()),
        shared_fen=division.shared_fen,
        household_count=sum(1 for fen in division.shares.values() if fen > 0),
        prepared_by=actor.subject,
        prepared_at=now,
    )
    session.add(plan)
    try:
        await session.flush()  # the live-plan index refuses a plan prepared meanwhile for the same income
    except IntegrityError as exc:
        raise Conflict(PLAN_EXISTS, code="plan_exists") from exc
    session.add_all(
        PlanSetAside(plan_id=plan.id, purpose=purpose, share_bp=set_asides[purpose], amount_fen=fen)
        for purpose, fen in division.set_asides.items()
    )
    await session.execute(insert(SHARES), _share_rows(plan, households, division, data, today))
    plan_changed(session, plan, None, by=actor.subject)
    return plan


async def _income_to_plan(
    session: AsyncSession, income_id: UUID, *, actor: Principal
) -> tuple[ProjectIncome, ProjectAsset]:
    """The income and its asset, when the actor reaches the owner and the income has no live plan yet."""
    income = await session.get(ProjectIncome, income_id)
    if income is None:
        raise NotFound("No income has this id.")
    if income.asset_id is None:
        raise Conflict("This income names no asset: it was recorded before assets were.", code="income_without_asset")
    asset = await session.get(ProjectAsset, income.asset_id)
    if asset is None:
        raise NotFound("The income's asset is not registered.")
    actor.ensure_reach(asset.owner_area_code)
    if await live_plan_id(session, income.id) is not None:
        raise Conflict(PLAN_EXISTS, code="plan_exists")
    return income, asset


def _declared_rule(data: PlanCreate, points: dict[HouseholdCategory, int] | None, today: date) -> dict[str, Any]:
    """The rule as declared, kept with the plan: basis, points, set-asides, the day it was judged on, the note."""
    return {
        "basis": data.basis.value,
        "category_points": {c.value: p for c, p in points.items()} if points else None,
        "set_asides": [{"purpose": s.purpose.value, "share_bp": s.share_bp} for s in data.set_asides],
        "judged_on": today.isoformat(),
        "note": data.note,
    }


async def live_plan_id(session: AsyncSession, income_id: UUID) -> UUID | None:
    """The income's plan that is not rejected, if it has one."""
    stmt = select(col(DistributionPlan.id)).where(
        col(DistributionPlan.income_id) == income_id, col(DistributionPlan.status) != PlanStatus.REJECTED.value
    )
    return (await session.scalars(stmt)).first()


def _entitled(area_prefix: str) -> ColumnElement[bool]:
    """A rolled household entitled to a share of an income owned within `area_prefix`."""
    return and_(
        col(RollHousehold.area_code).startswith(area_prefix),
        col(RollHousehold.status).in_([s.value for s in ENTITLED]),
        col(RollHousehold.member_count) >= 1,
    )


async def entitled_households(session: AsyncSession, area_prefix: str) -> list[Entitled]:
    """The entitled households within an area with their known members, read in one query, by household id."""
    h, m = RollHousehold.__table__.c, RollMember.__table__.c  # type: ignore[attr-defined]
    stmt = (
        select(h.household_id, h.area_code, h.status, h.member_count, m.member_id, m.birth_date)
        .add_columns(m.disability_grade, m.died_on)
        .select_from(RollHousehold.__table__.outerjoin(RollMember.__table__, m.household_id == h.household_id))  # type: ignore[attr-defined]
        .where(_entitled(area_prefix))
        .order_by(h.household_id)
    )
    found: dict[UUID, Entitled] = {}
    for hid, area, status, living, member_id, born, grade, died in (await session.execute(stmt)).all():
        household = found.setdefault(hid, Entitled(hid, area, status, living))
        if member_id is not None:
            household.members.append(MemberFacts(birth_date=born, disability_grade=grade, died_on=died))
    return list(found.values())


async def outdated_households(session: AsyncSession, plan: DistributionPlan) -> list[UUID]:
    """The plan's households the roll no longer entitles as it stands (gone from it or from the owner's area,
    exited without policies, no living member), by id: one query for all of them."""
    stmt = (
        select(col(PlanShare.household_id))
        .outerjoin(RollHousehold, col(RollHousehold.household_id) == col(PlanShare.household_id))
        .where(
            col(PlanShare.plan_id) == plan.id,
            or_(col(RollHousehold.household_id).is_(None), ~_entitled(plan.owner_area_code)),
        )
        .order_by(col(PlanShare.household_id))
    )
    return list((await session.scalars(stmt)).all())


def _share_rows(
    plan: DistributionPlan, households: list[Entitled], division: Division, data: PlanCreate, today: date
) -> list[dict[str, Any]]:
    """One row per household whose share is at least a fen, with its facts and explanation."""
    total_weight = sum(h.weight for h in households)
    set_aside_bp = sum(s.share_bp for s in data.set_asides)
    rows = []
    for h in households:
        amount = division.shares[h.household_id]
        if amount == 0:
            continue
        categories = sorted(c.value for c in h.categories)
        explanation = explain(
            data.basis,
            weight=h.weight,
            total_weight=total_weight,
            household_count=len(households),
            area_code=plan.owner_area_code,
            shared_fen=division.shared_fen,
            set_aside_bp=set_aside_bp,
            categories=h.categories,
            amount_fen=amount,
        )
        facts = {
            "area_code": h.area_code,
            "status": h.status,
            "living_members": h.living_members,
            "categories": categories,
            "weight": h.weight,
            "judged_on": today.isoformat(),
        }
        rows.append(
            {
                "id": uuid7(),
                "plan_id": plan.id,
                "household_id": h.household_id,
                "area_code": h.area_code,
                "weight": h.weight,
                "amount_fen": amount,
                "facts": facts,
                "explanation": explanation,
                "status": ShareStatus.PLANNED.value,
                "payment_id": None,
                "paid_at": None,
            }
        )
    return rows

"""Coverage checks (政策落实覆盖核查): the entitlements held, checked against the payments made.

Each gap found is kept with the check and published, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import ColumnElement, Uuid, func, literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.subsidies import events
from services.subsidies.domain.policies import ensure_known_policy, ensure_period_begun
from services.subsidies.models import CoverageCheck, CoverageGap, EligibleHousehold, Entitlement, Payment
from services.subsidies.rules.coverage import Entitled, find_gaps
from services.subsidies.rules.periods import month_span
from services.subsidies.schemas.coverage import CoverageCheckCreate
from shared.auth import Principal
from shared.contracts.subsidies import PolicyCode, SubsidyCoverageGap
from shared.db import keyset
from shared.errors import NotFound


async def check_coverage(
    session: AsyncSession,
    data: CoverageCheckCreate,
    *,
    actor: Principal,
    policies: Collection[PolicyCode],
    today: date,
    now: datetime,
) -> tuple[CoverageCheck, list[CoverageGap]]:
    """Find every entitlement to the policy in the area that no payment for the period covers, and record it.

    Entitlements are those held when the check runs (subsidies keeps the current state only). Each gap is kept
    with the check and published as `SubsidyCoverageGap`, from which audit opens a finding.
    """
    ensure_period_begun(data.period, today=today)
    ensure_known_policy(data.policy_code, policies)
    scope = _scope(data.area_code, actor)
    entitled = await _entitled(session, policy_code=data.policy_code, period=data.period, scope=scope)
    paid = await _paid_households(session, policy_code=data.policy_code, period=data.period, scope=scope)
    found = find_gaps(entitled, paid)
    check = CoverageCheck(
        policy_code=data.policy_code,
        period=data.period,
        area_code=scope,
        checked_by=actor.subject,
        checked_at=now,
        entitled_count=len(entitled),
        gap_count=len(found),
    )
    gaps = [CoverageGap(check_id=check.id, **gap._asdict()) for gap in found]
    session.add(check)
    session.add_all(gaps)
    for gap in gaps:
        events.publish(
            session,
            SubsidyCoverageGap(
                household_id=gap.household_id,
                member_id=gap.member_id,
                check_id=check.id,
                area_code=gap.area_code,
                policy_code=check.policy_code,
                period=check.period,
            ),
        )
    return check, gaps


def _scope(area_code: str | None, actor: Principal) -> str | None:
    """The area to check: the one asked for, else a scoped officer's own area, else the whole district (None)."""
    scope = area_code or (actor.area if actor.is_area_scoped else None)
    if scope is not None:
        actor.ensure_reach(scope)
    return scope


def _in_scope(scope: str | None) -> list[ColumnElement[bool]]:
    """Where-clauses keeping the households (joined as EligibleHousehold) whose current area is within `scope`."""
    return [] if scope is None else [col(EligibleHousehold.area_code).startswith(scope)]


async def _entitled(session: AsyncSession, *, policy_code: str, period: str, scope: str | None) -> list[Entitled]:
    """Who held the policy on any day of the period's month."""
    first, after = month_span(period)
    rows = await session.execute(
        select(col(Entitlement.household_id), col(Entitlement.member_id), col(EligibleHousehold.area_code))
        .join(EligibleHousehold, col(EligibleHousehold.household_id) == col(Entitlement.household_id))
        .where(
            col(Entitlement.policy_code) == policy_code,
            col(Entitlement.starts_on) < after,
            or_(col(Entitlement.ends_on).is_(None), col(Entitlement.ends_on) > first),
            *_in_scope(scope),
        )
        .distinct()
    )
    return [Entitled(*row) for row in rows.all()]


async def _paid_households(session: AsyncSession, *, policy_code: str, period: str, scope: str | None) -> set[UUID]:
    rows = await session.scalars(
        select(col(Payment.household_id))
        .join(EligibleHousehold, col(EligibleHousehold.household_id) == col(Payment.household_id))
        .where(col(Payment.policy_code) == policy_code, col(Payment.period) == period, *_in_scope(scope))
    )
    return set(rows.all())


async def get_coverage_check(session: AsyncSession, check_id: UUID, *, actor: Principal) -> CoverageCheck:
    """A coverage check within the actor's reach; NotFound, or Forbidden beyond it."""
    check = await session.get(CoverageCheck, check_id)
    if check is None:
        raise NotFound("No coverage check has this id.")
    # A district-wide check (no area) is beyond any scoped officer's reach.
    actor.ensure_reach(check.area_code or "")
    return check


# A household's own entitlement (no member) sorts before its members'.
NO_MEMBER = UUID(int=0)


def gap_key(gap: CoverageGap) -> tuple[UUID, UUID, UUID]:
    """A gap's place in its check's list: household, member, then the gap's own id (unique)."""
    return gap.household_id, gap.member_id or NO_MEMBER, gap.id


async def list_coverage_gaps(
    session: AsyncSession, check_id: UUID, *, actor: Principal, after: tuple[UUID, UUID, UUID] | None, limit: int
) -> list[CoverageGap]:
    """The gaps a check found then, in `gap_key` order, after the cursor's key. NotFound or Forbidden as the check."""
    await get_coverage_check(session, check_id, actor=actor)
    member = func.coalesce(col(CoverageGap.member_id), literal(NO_MEMBER, Uuid()))
    key = (col(CoverageGap.household_id), member, col(CoverageGap.id))
    stmt = select(CoverageGap).where(col(CoverageGap.check_id) == check_id)
    if after is not None:
        stmt = stmt.where(tuple_(*key) > tuple_(*(literal(part, Uuid()) for part in after)))
    return list((await session.scalars(stmt.order_by(*key).limit(limit))).all())


async def list_coverage_checks(
    session: AsyncSession,
    *,
    actor: Principal,
    policy_code: PolicyCode | None,
    period: str | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[CoverageCheck]:
    """Coverage checks, the newest first; a scoped officer's only those of areas within their own."""
    stmt = select(CoverageCheck)
    if actor.is_area_scoped:  # a district-wide check (no area) is beyond their reach, as when read by id
        stmt = stmt.where(col(CoverageCheck.area_code).startswith(actor.area or ""))
    if policy_code is not None:
        stmt = stmt.where(col(CoverageCheck.policy_code) == policy_code)
    if period is not None:
        stmt = stmt.where(col(CoverageCheck.period) == period)
    stmt = keyset(stmt, (col(CoverageCheck.checked_at), col(CoverageCheck.id)), after, limit=limit, descending=True)
    return list((await session.scalars(stmt)).all())

"""Coverage checks (政策落实覆盖核查): entitlements kept from households' events, checked against payments.

No HTTP, no Kafka: each gap found is recorded in the outbox with the check, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.subsidies import rules
from services.subsidies.domain import SOURCE, ensure_known_policy, known_household
from services.subsidies.models import CoverageCheck, CoverageGap, EligibleHousehold, Entitlement, Payment
from services.subsidies.schemas import CoverageCheckCreate
from shared.auth import Principal
from shared.contracts.households import MinimumAllowance, RiskKind
from shared.contracts.subsidies import SubsidyCoverageGap
from shared.errors import NotFound
from shared.messaging.outbox import record_event


@dataclass(frozen=True)
class Holder:
    """Whom entitlements are for: a household's own (低保, 特困供养; no member) or one member's."""

    household_id: UUID
    member_id: UUID | None = None


async def note_allowance(session: AsyncSession, holder: Holder, status: MinimumAllowance, *, on: date) -> None:
    """The household's 低保 / 特困供养 status decides its allowance entitlement, from the day it takes effect."""
    await _entitle(session, holder, rules.ALLOWANCE_POLICIES, rules.allowance_entitlements(status), on=on)


async def note_disability(session: AsyncSession, holder: Holder, grade: int, *, on: date) -> None:
    """A member's disability certificate (残疾证) decides their disability subsidies; a new grade replaces the old."""
    await _entitle(session, holder, rules.DISABILITY_POLICIES, rules.disability_entitlements(grade), on=on)


async def note_schooling(session: AsyncSession, holder: Holder, enrolment: str, *, on: date) -> None:
    """A member's enrolment (控辍保学) decides their education aid."""
    await _entitle(session, holder, rules.SCHOOLING_POLICIES, rules.schooling_entitlements(enrolment), on=on)


async def note_risk_flag(session: AsyncSession, holder: Holder, kind: RiskKind, *, on: date) -> None:
    """A relapse-risk flag (防返贫监测) adds the help its kind entitles the household to while monitored."""
    await _entitle(session, holder, rules.MONITORING_POLICIES, rules.monitoring_entitlements(kind), on=on, add=True)


async def note_monitoring_closed(session: AsyncSession, holder: Holder, *, on: date) -> None:
    """The monitoring episode closed (risk eliminated, or relapsed into poverty): the monitoring help ends."""
    await _entitle(session, holder, rules.MONITORING_POLICIES, frozenset(), on=on)


async def _entitle(
    session: AsyncSession,
    holder: Holder,
    family: frozenset[str],
    granted: frozenset[str],
    *,
    on: date,
    add: bool = False,
) -> None:
    """From `on`, the holder's entitlements among `family` are exactly `granted` (with `add`, those held and
    `granted`): the others end that day, the new ones begin. A re-sent event changes nothing."""
    await known_household(session, holder.household_id)
    held = await session.scalars(
        select(Entitlement).where(
            col(Entitlement.household_id) == holder.household_id,
            col(Entitlement.member_id) == holder.member_id,  # IS NULL for a household's own policies
            col(Entitlement.policy_code).in_(family),
            col(Entitlement.ends_on).is_(None),
        )
    )
    kept: set[str] = set()
    for entitlement in held.all():
        if add or entitlement.policy_code in granted:
            kept.add(entitlement.policy_code)
        else:
            entitlement.ends_on = max(on, entitlement.starts_on)
    session.add_all(
        Entitlement(household_id=holder.household_id, member_id=holder.member_id, policy_code=code, starts_on=on)
        for code in sorted(granted - kept)
    )


async def check_coverage(
    session: AsyncSession, data: CoverageCheckCreate, *, actor: Principal, policies: Collection[str]
) -> tuple[CoverageCheck, list[CoverageGap]]:
    """Find every entitlement to the policy in the area that no payment for the period covers, and record it.

    Entitlements are those held when the check runs (subsidies keeps the current state only). Each gap is kept
    with the check and published as `SubsidyCoverageGap`, from which audit opens a finding.
    """
    ensure_known_policy(data.policy_code, policies)
    scope = _scope(data.area_code, actor)
    entitled = await _entitled(session, policy_code=data.policy_code, period=data.period, scope=scope)
    paid = await _paid_households(session, policy_code=data.policy_code, period=data.period, scope=scope)
    found = rules.find_gaps(entitled, paid)
    check = CoverageCheck(
        policy_code=data.policy_code,
        period=data.period,
        area_code=scope,
        checked_by=actor.subject,
        entitled_count=len(entitled),
        gap_count=len(found),
    )
    gaps = [CoverageGap(check_id=check.id, **gap._asdict()) for gap in found]
    session.add(check)
    session.add_all(gaps)
    for gap in gaps:
        record_event(
            session,
            SubsidyCoverageGap(
                household_id=gap.household_id,
                member_id=gap.member_id,
                check_id=check.id,
                area_code=gap.area_code,
                policy_code=check.policy_code,
                period=check.period,
            ),
            source=SOURCE,
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


async def _entitled(session: AsyncSession, *, policy_code: str, period: str, scope: str | None) -> list[rules.Entitled]:
    """Who held the policy on any day of the period's month."""
    first, after = rules.month_span(period)
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
    return [rules.Entitled(*row) for row in rows.all()]


async def _paid_households(session: AsyncSession, *, policy_code: str, period: str, scope: str | None) -> set[UUID]:
    rows = await session.scalars(
        select(col(Payment.household_id))
        .join(EligibleHousehold, col(EligibleHousehold.household_id) == col(Payment.household_id))
        .where(col(Payment.policy_code) == policy_code, col(Payment.period) == period, *_in_scope(scope))
    )
    return set(rows.all())


async def get_coverage_check(
    session: AsyncSession, check_id: UUID, *, actor: Principal
) -> tuple[CoverageCheck, list[CoverageGap]]:
    """A coverage check with the gaps it found then, or NotFound."""
    check = await session.get(CoverageCheck, check_id)
    if check is None:
        raise NotFound("No coverage check has this id.")
    # A district-wide check (no area) is beyond any scoped officer's reach.
    actor.ensure_reach(check.area_code or "")
    gaps = await session.scalars(
        select(CoverageGap)
        .where(col(CoverageGap.check_id) == check_id)
        .order_by(col(CoverageGap.household_id), col(CoverageGap.member_id))
    )
    return check, list(gaps.all())

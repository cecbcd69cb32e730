"""Entitlements (享受政策资格) kept from households' events: each fact decides its own family of policies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.subsidies.domain.households import known_household
from services.subsidies.models import Entitlement
from services.subsidies.rules import entitlements as rules
from shared.contracts.households import MinimumAllowance, RiskKind


@dataclass(frozen=True)
class Holder:
    """Whom entitlements are for: a household's own (低保, 特困供养; no member) or one member's."""

    household_id: UUID
    member_id: UUID | None = None


async def note_allowance(
    session: AsyncSession, holder: Holder, status: MinimumAllowance, *, on: date, now: datetime
) -> None:
    """The household's 低保 / 特困供养 status decides its allowance entitlement, from the day it takes effect."""
    await _entitle(session, holder, rules.ALLOWANCE_POLICIES, rules.allowance_entitlements(status), on=on, now=now)


async def note_disability(session: AsyncSession, holder: Holder, grade: int, *, on: date, now: datetime) -> None:
    """A member's disability certificate (残疾证) decides their disability subsidies; a new grade replaces the old."""
    await _entitle(session, holder, rules.DISABILITY_POLICIES, rules.disability_entitlements(grade), on=on, now=now)


async def note_schooling(session: AsyncSession, holder: Holder, enrolment: str, *, on: date, now: datetime) -> None:
    """A member's enrolment (控辍保学) decides their education aid."""
    await _entitle(session, holder, rules.SCHOOLING_POLICIES, rules.schooling_entitlements(enrolment), on=on, now=now)


async def note_risk_flag(session: AsyncSession, holder: Holder, kind: RiskKind, *, on: date, now: datetime) -> None:
    """A relapse-risk flag (防返贫监测) adds the help its kind entitles the household to while monitored."""
    await _entitle(
        session, holder, rules.MONITORING_POLICIES, rules.monitoring_entitlements(kind), on=on, now=now, add=True
    )


async def note_monitoring_closed(session: AsyncSession, holder: Holder, *, on: date, now: datetime) -> None:
    """The monitoring episode closed (risk eliminated, or relapsed into poverty): the monitoring help ends."""
    await _entitle(session, holder, rules.MONITORING_POLICIES, frozenset(), on=on, now=now)


async def _entitle(
    session: AsyncSession,
    holder: Holder,
    family: frozenset[str],
    granted: frozenset[str],
    *,
    on: date,
    now: datetime,
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
        Entitlement(
            household_id=holder.household_id,
            member_id=holder.member_id,
            policy_code=code,
            starts_on=on,
            recorded_at=now,
        )
        for code in sorted(granted - kept)
    )

"""Why a household, or each of its members, is or is not entitled to a programme for a period (享受政策资格),
rule by rule, by the version in force on the period's first day and the facts as of that day: judged as a cycle
judges (`rules/cycles.judge`), and, once the programme's cycle of the period exists, with where each holder stands
in it (listed, withdrawn and why, or not on its list)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.subsidies.domain.catalogue import programme_in_force
from services.subsidies.domain.facts import holder_facts
from services.subsidies.domain.households import known_member_names
from services.subsidies.models import Cycle, CycleEntitlement, HouseholdFacts, Programme, ProgrammeVersion
from services.subsidies.rules.cycles import Judgement, judge
from services.subsidies.rules.eligibility import HolderFacts
from services.subsidies.rules.vocabulary import holder_key
from shared.auth import Principal
from shared.errors import NotFound


@dataclass(frozen=True)
class HolderDecision:
    """One holder's facts, the judgement on them, and their entitlement in the period's cycle (None: not on its
    list, or no cycle)."""

    facts: HolderFacts
    judged: Judgement
    name_masked: str | None
    entitlement: CycleEntitlement | None


@dataclass(frozen=True)
class Explanation:
    household: HouseholdFacts
    programme: Programme
    version: ProgrammeVersion
    cycle: Cycle | None
    holders: list[HolderDecision]


async def explain(
    session: AsyncSession, household_id: UUID, *, code: str, period: str, actor: Principal
) -> Explanation:
    """Judge the household (or each member, for a member programme) by the programme's rule for the period.

    NotFound for a household subsidies does not know; Forbidden beyond a scoped officer's area; InvalidInput for a
    programme not in the catalogue, a period not of its frequency or before its first version.
    """
    household = await session.get(HouseholdFacts, household_id)
    if household is None:
        raise NotFound("No registered household (建档立卡户) known to subsidies has this id.")
    actor.ensure_reach(household.area_code)
    programme, version = await programme_in_force(
        session, code, period, field="query.programme", period_field="query.period"
    )
    cycle = await session.scalar(
        select(Cycle).where(col(Cycle.programme_code) == programme.code, col(Cycle.period) == period)
    )
    listed = {} if cycle is None else await _entitlements(session, cycle.id, household_id)
    names = await known_member_names(session, household_id)
    holders: list[HolderDecision] = []
    async for chunk in holder_facts(session, programme, period, household_ids=[household_id]):
        for facts in chunk:
            name = names.get(facts.member_id) if facts.member_id else None
            entitlement = listed.get(holder_key(facts.member_id))
            holders.append(HolderDecision(facts, judge(version, facts), name, entitlement))
    return Explanation(household, programme, version, cycle, holders)


async def _entitlements(session: AsyncSession, cycle_id: UUID, household_id: UUID) -> dict[str, CycleEntitlement]:
    """The household's entitlements in the cycle, listed or withdrawn, by holder key."""
    rows = await session.scalars(
        select(CycleEntitlement).where(
            col(CycleEntitlement.cycle_id) == cycle_id, col(CycleEntitlement.household_id) == household_id
        )
    )
    return {entitlement.holder_key: entitlement for entitlement in rows.all()}

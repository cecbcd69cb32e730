"""Why a household, or each of its members, is or is not entitled to a programme for a period (享受政策资格),
rule by rule, by the version in force on the period's first day and the facts as of that day."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.subsidies.domain.catalogue import programme_in_force
from services.subsidies.domain.facts import holder_facts
from services.subsidies.domain.households import known_member_names
from services.subsidies.models import HouseholdFacts, Programme, ProgrammeVersion
from services.subsidies.rules.eligibility import Decision, HolderFacts, amount_for, evaluate
from shared.auth import Principal
from shared.errors import NotFound


@dataclass(frozen=True)
class HolderDecision:
    """One holder's facts, the decision on them and what it would pay."""

    facts: HolderFacts
    decision: Decision
    amount_fen: int
    name_masked: str | None


@dataclass(frozen=True)
class Explanation:
    household: HouseholdFacts
    programme: Programme
    version: ProgrammeVersion
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
    names = await known_member_names(session, household_id)
    holders: list[HolderDecision] = []
    async for chunk in holder_facts(session, programme, period, household_ids=[household_id]):
        for facts in chunk:
            decision = evaluate(version.rule, facts)
            amount = _amount(version, facts) if decision.entitled else 0
            name = names.get(facts.member_id) if facts.member_id else None
            holders.append(HolderDecision(facts, decision, amount, name))
    return Explanation(household, programme, version, holders)


def _amount(version: ProgrammeVersion, facts: HolderFacts) -> int:
    living = facts.values.get("household.member_count")
    return amount_for(version.amount_fen, version.per_member, living if isinstance(living, int) else 0)

"""Route of a household's eligibility, explained (享受政策资格): why it is or is not entitled, rule by rule."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from services.subsidies.api.deps import CatalogueReader
from services.subsidies.domain import eligibility
from services.subsidies.rules.periods import ANY_PERIOD_PATTERN
from services.subsidies.rules.vocabulary import CycleStatus, ProgrammeUnit
from services.subsidies.schemas.eligibility import EligibilityRead, HolderEligibility, checks_of, in_cycle
from services.subsidies.schemas.programmes import VersionRead
from shared.contracts.subsidies import PolicyCode
from shared.http import Reading

router = APIRouter(prefix="/households", tags=["eligibility"])

PeriodQuery = Annotated[
    str,
    Query(
        pattern=ANY_PERIOD_PATTERN,
        description="written as the programme's frequency requires: YYYY-MM, YYYY-S1/S2 or YYYY",
        examples=["2020-06"],
    ),
]


@router.get("/{household_id}/eligibility")
async def explain_eligibility(
    household_id: UUID,
    programme: PolicyCode,
    period: PeriodQuery,
    session: Reading,
    actor: CatalogueReader,
) -> EligibilityRead:
    """Explain whether a household, or each of its members, is entitled to a programme for a period, and why

    Judged by the programme's version in force on the period's first day, on the facts subsidies keeps from
    households' events as of that day: for a household programme the household, for a member programme each member
    (living or not), judged as a cycle judges. For each: entitled or not, the amount it would be paid, and every
    condition with the fact's value and whether it held (a fact not known holds only a condition that it is not
    something), the engine's own first: nobody is entitled for a period they were dead before, nor a household with
    no living member, nor one that had exited without policies (脱贫不享受政策). Once the programme's cycle of the
    period exists, each holder's place in it as its list stands:
    listed, withdrawn (with the reason: an objection upheld, or no longer entitled when re-checked) or not listed.

    Refused: a household subsidies does not know (404); a programme not in the catalogue (422, `unknown_policy`) or
    paid from projects' approved plans and payrolls (422, `decided_by_projects`);
    a period not written as the programme's frequency requires (422, `period_format`) or before its first version
    (422, `no_version_in_force`).
    """
    found = await eligibility.explain(session, household_id, code=programme, period=period, actor=actor)
    return EligibilityRead(
        household_id=found.household.household_id,
        area_code=found.household.area_code,
        programme_code=found.programme.code,
        unit=ProgrammeUnit(found.programme.unit),
        period=period,
        version=VersionRead(**found.version.model_dump()),
        cycle_id=None if found.cycle is None else found.cycle.id,
        cycle_status=None if found.cycle is None else CycleStatus(found.cycle.status),
        holders=[
            HolderEligibility(
                member_id=h.facts.member_id,
                name_masked=h.name_masked,
                entitled=h.judged.listed,
                amount_fen=h.judged.amount_fen,
                checks=checks_of(h.judged.decision),
                in_cycle=None if found.cycle is None else in_cycle(h.entitlement),
            )
            for h in found.holders
        ],
    )

"""The status lifecycle (脱贫状态): transitions are rules, never free edits.

A household leaves poverty (脱贫) only when it meets the exit standard: per-capita income at or above the
year's line and every guarantee (schooling, basic medical, housing safety) and safe water met. It becomes
monitored (监测对象) only through an open monitoring episode, and relapses (返贫) only on evidence (a gap).
`transition` is the only code that writes `Household.status`; every transition is an event.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households import history
from services.households.assessment import assess
from services.households.events import publish
from services.households.guarantees import Gap
from services.households.models import Household, MonitoringEpisode
from shared.contracts.households import HouseholdStatus, HouseholdStatusChanged
from shared.errors import RuleViolation

S = HouseholdStatus
EXITED = frozenset({S.EXITED_RECEIVING_POLICIES, S.EXITED_NO_POLICIES})
TRANSITIONS: dict[HouseholdStatus, frozenset[HouseholdStatus]] = {
    S.IN_POVERTY: frozenset({S.EXITED_RECEIVING_POLICIES}),
    S.EXITED_RECEIVING_POLICIES: frozenset({S.EXITED_NO_POLICIES, S.MONITORED, S.RELAPSED}),
    S.EXITED_NO_POLICIES: frozenset({S.EXITED_RECEIVING_POLICIES, S.MONITORED, S.RELAPSED}),
    S.MONITORED: frozenset({S.EXITED_RECEIVING_POLICIES, S.EXITED_NO_POLICIES, S.RELAPSED}),
    S.RELAPSED: frozenset({S.EXITED_RECEIVING_POLICIES}),
}
REASON_OFFICER = "officer_decision"
REASON_MONITORING_OPENED = "monitoring_opened"
REASON_RISK_ELIMINATED = "risk_eliminated"
REASON_RELAPSED = "relapsed"


def check_transition(
    current: HouseholdStatus, target: HouseholdStatus, *, gaps: Sequence[Gap], open_episode: bool
) -> None:
    """RuleViolation unless `current -> target` is allowed with these gaps and monitoring state."""
    if target == current:
        raise RuleViolation(f"The household is already {target.value}.")
    if target not in TRANSITIONS[current]:
        raise RuleViolation(f"A household cannot go from {current.value} to {target.value}.")
    if target == S.MONITORED:
        if not open_episode:
            raise RuleViolation("A household becomes monitored only through an open monitoring episode.")
        return
    if open_episode:
        raise RuleViolation("The household has an open monitoring episode; close it with a decision first.")
    if target in EXITED and gaps:
        raise RuleViolation(
            "The household does not meet the exit standard (income, three guarantees, safe water).",
            gaps=sorted({g.code for g in gaps}),
        )
    if target == S.RELAPSED and not gaps:
        raise RuleViolation("A household relapses only with income under the line or a guarantee unmet.")


async def has_open_episode(session: AsyncSession, household: Household) -> bool:
    stmt = select(col(MonitoringEpisode.id)).where(
        col(MonitoringEpisode.household_id) == household.id, col(MonitoringEpisode.status) == "open"
    )
    return (await session.scalars(stmt)).first() is not None


async def transition(
    session: AsyncSession,
    household: Household,
    target: HouseholdStatus,
    *,
    reason: str,
    actor: str,
    on: date,
    note: str = "",
) -> None:
    """Move the household to `target` if the rules allow it (judged on `on` and that year's income)."""
    assessment = await assess(session, household, year=on.year, on=on)
    current = HouseholdStatus(household.status)
    check_transition(current, target, gaps=assessment.gaps, open_episode=await has_open_episode(session, household))
    household.status = target
    session.add(household)
    history.note(
        session,
        household.id,
        actor=actor,
        action="status.changed",
        changes={"status": [current, target], "reason": reason, "note": note, "effective_on": on},
    )
    publish(
        session,
        HouseholdStatusChanged(
            household_id=household.id,
            area_code=household.area_code,
            from_status=current,
            to_status=target,
            reason=reason,
            effective_on=on,
            changed_by=actor,
        ),
    )

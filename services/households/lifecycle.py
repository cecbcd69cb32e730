"""The status lifecycle (脱贫状态): transitions are rules, never free edits.

A household leaves poverty (脱贫) only when it meets the exit standard: per-capita income at or above the
year's line and every guarantee (schooling, basic medical, housing safety) and safe water met. It becomes
monitored (监测对象) only through an open monitoring episode, and relapses (返贫) only on evidence (a gap).
`transition` is the only code that writes `Household.status`; every transition is an event.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households import history
from services.households.assessment import assess
from services.households.events import publish
from services.households.guarantees import Gap
from services.households.models import Household, HouseholdChange, MonitoringEpisode
from shared.contracts.households import HouseholdStatus, HouseholdStatusChanged
from shared.errors import InvalidInput, RuleViolation
from shared.timeutil import district_today

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
STATUS_CHANGED = "status.changed"  # the history action of every transition
# Policies resumed for an exited household (脱贫不享受政策 -> 脱贫享受政策): help given back, not an exit, so the
# exit standard does not apply; a gap is the very reason to resume them.
RESUMING = (S.EXITED_NO_POLICIES, S.EXITED_RECEIVING_POLICIES)


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
    if target in EXITED and gaps and (current, target) != RESUMING:
        raise RuleViolation(
            "The household does not meet the exit standard (income, three guarantees, safe water).",
            gaps=sorted({g.code for g in gaps}),
        )
    if target == S.RELAPSED and not gaps:
        raise RuleViolation("A household relapses only with income under the line or a guarantee unmet.")


def check_effective_on(on: date, *, today: date, last_change: date | None) -> None:
    """An officer's status change takes effect within the current year and not before the last change.

    The guards are judged on today's facts, so a date in an earlier year would record an exit the district
    never judged on that year's income; and a change dated before the previous one would reorder the history.
    """
    if on > today:
        raise InvalidInput("A status change cannot take effect in the future.")
    if on.year < today.year:
        raise InvalidInput(f"A status change takes effect within {today.year}; earlier years are closed.")
    if last_change is not None and on < last_change:
        raise RuleViolation(f"A status change cannot take effect before the last one ({last_change.isoformat()}).")


def effective_date(on: date, *, today: date, last_change: date | None) -> date:
    """When a change the rules cause takes effect: the date of its cause (a flag, a closing), but not before this
    year nor before the last change (a department's hospital cost from an earlier year opens monitoring now), and
    not after today. Status history and events then stay in order."""
    earliest = max(date(today.year, 1, 1), last_change or date.min)
    return min(max(on, earliest), today)


async def last_status_change(session: AsyncSession, household: Household) -> date | None:
    """The day the household's most recent status change took effect (None if it never changed)."""
    stmt = (
        select(col(HouseholdChange.changes))
        .where(col(HouseholdChange.household_id) == household.id, col(HouseholdChange.action) == STATUS_CHANGED)
        .order_by(col(HouseholdChange.id).desc())
        .limit(1)
    )
    changes = (await session.scalars(stmt)).first()
    return date.fromisoformat(json.loads(changes)["effective_on"]) if changes else None


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
    """Move the household to `target`, effective `on`, if the rules allow it.

    The guards are judged on today's facts and this year's income whatever `on` says: a backdated exit must not
    be judged on the income of a year the household has since fallen back from.
    """
    today = district_today()
    on = effective_date(on, today=today, last_change=await last_status_change(session, household))
    assessment = await assess(session, household, year=today.year, on=today)
    current = HouseholdStatus(household.status)
    check_transition(current, target, gaps=assessment.gaps, open_episode=await has_open_episode(session, household))
    household.status = target
    session.add(household)
    history.note(
        session,
        household.id,
        actor=actor,
        action=STATUS_CHANGED,
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


async def officer_decision(
    session: AsyncSession, household: Household, target: HouseholdStatus, *, actor: str, on: date, note: str
) -> None:
    """An officer's status change (脱贫 / 返贫), dated within the current year and after the last change."""
    check_effective_on(on, today=district_today(), last_change=await last_status_change(session, household))
    await transition(session, household, target, reason=REASON_OFFICER, actor=actor, on=on, note=note)

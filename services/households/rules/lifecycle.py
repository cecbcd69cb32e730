"""The status lifecycle's rules (脱贫状态): which transitions exist, what each needs, when a change takes effect.

A household leaves poverty (脱贫) only when it meets the exit standard: per-capita income at or above the
year's line and every guarantee (schooling, basic medical, housing safety) and safe water met. It becomes
monitored (监测对象) only through an open monitoring episode, and relapses (返贫) only on evidence (a gap).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from services.households.rules.dates import ensure_happened
from services.households.rules.guarantees import Gap
from shared.contracts.households import HouseholdStatus
from shared.errors import InvalidInput, RuleViolation

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
    ensure_happened(today, {"effective_on": on})
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

"""Relapse-risk monitoring's rules (防止返贫监测): when a household is flagged, and what closing an episode needs."""

from __future__ import annotations

from services.households.rules.guarantees import Line
from services.households.rules.lifecycle import EXITED
from services.households.rules.vocabulary import EpisodeStatus
from shared.contracts.households import EpisodeDecision, HouseholdStatus
from shared.errors import RuleViolation

OPEN, CLOSED = EpisodeStatus.OPEN, EpisodeStatus.CLOSED
# Income is watched for households that have left poverty; an in-poverty household is already helped in full.
INCOME_WATCHED = EXITED | {HouseholdStatus.MONITORED}


def income_flag_due(status: HouseholdStatus, per_capita: int, line: Line | None) -> bool:
    """An exited or monitored household whose per-capita income is under line + margin is at risk."""
    return line is not None and status in INCOME_WATCHED and per_capita < line.monitoring_threshold_fen


def medical_flag_due(year_total_before_fen: int, amount_fen: int, threshold_fen: int) -> bool:
    """The year's out-of-pocket medical cost crosses the threshold with this expense (flag once, not again)."""
    return year_total_before_fen < threshold_fen <= year_total_before_fen + amount_fen


def disability_is_new(before: str | None, after: str | None) -> bool:
    """A member without a certified disability now has one."""
    return before is None and after is not None


def check_closing(decision: EpisodeDecision, *, measure_count: int, income_risk_remains: bool) -> None:
    """Risk eliminated needs at least one help measure and no remaining income risk; relapse needs neither."""
    if decision is EpisodeDecision.RISK_ELIMINATED:
        if measure_count == 0:
            raise RuleViolation("Risk cannot be declared eliminated before any help measure was taken.")
        if income_risk_remains:
            raise RuleViolation("Per-capita income is still under the line plus the monitoring margin.")

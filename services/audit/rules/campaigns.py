"""Inspection campaigns' rules: a well-formed scope, dates in order, and what a running campaign covers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from shared.contracts.audit import CampaignKind, ScopeLevel
from shared.errors import InvalidInput, RuleViolation


def check_campaign_scope(kind: CampaignKind, level: ScopeLevel, code: str) -> None:
    """A campaign's scope must be well-formed; targeted supervision (挂牌督战) is of one township."""
    expected = {ScopeLevel.DISTRICT: 6, ScopeLevel.TOWNSHIP: 9, ScopeLevel.VILLAGE: 12}
    if kind is CampaignKind.TARGETED_SUPERVISION and level is not ScopeLevel.TOWNSHIP:
        raise InvalidInput("Targeted supervision (挂牌督战) is of one township: scope_level must be township.")
    if level is ScopeLevel.PROJECT:
        try:
            UUID(code)
        except ValueError as exc:
            raise InvalidInput("A project scope is the project's id.") from exc
    elif not (code.isascii() and code.isdigit() and len(code) == expected[level]):
        raise InvalidInput(f"A {level} scope is a {expected[level]}-digit area code.")


def check_campaign_dates(starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise InvalidInput("A campaign ends on or after the day it starts.")


def check_running(starts_on: date, ends_on: date, *, today: date) -> None:
    """Findings and checks name only a campaign running on their day (district calendar)."""
    if not starts_on <= today <= ends_on:
        raise RuleViolation("The campaign is not running today.")


def campaign_covers(level: ScopeLevel, scope_code: str, *, area_code: str, subject_id: str) -> bool:
    """Whether a problem at `area_code` on `subject_id` lies within a campaign's scope."""
    if level is ScopeLevel.PROJECT:
        return subject_id == scope_code
    return area_code.startswith(scope_code)


# 全覆盖: a visiting round is judged by the share of the households in its scope that it reached.
COVERAGE_FINDING_CODE = "coverage_incomplete"
BASIS_POINTS = 10_000


def counts_visit(
    level: ScopeLevel,
    scope_code: str,
    starts_on: date,
    ends_on: date,
    round: int,
    *,
    area_code: str,
    visited_on: date,
    visit_round: int,
) -> bool:
    """Whether a visit reaches a household for a campaign: the household's area lies in the scope, the visit's day
    in the campaign's dates and the visit belongs to the campaign's round. A project's campaign visits no
    households, so none counts for it."""
    return (
        level is not ScopeLevel.PROJECT
        and area_code.startswith(scope_code)
        and starts_on <= visited_on <= ends_on
        and round == visit_round
    )


@dataclass(frozen=True)
class TownshipCoverage:
    """Of a township's households a campaign had to reach (known and registered before it ended), how many it
    reached."""

    township: str
    households: int
    reached: int

    @property
    def not_reached(self) -> int:
        return self.households - self.reached

    @property
    def rate_bp(self) -> int:
        """The share reached in basis points, rounded down: 9,999 of 10,000 is never shown as full coverage."""
        return self.reached * BASIS_POINTS // self.households if self.households else BASIS_POINTS

    @property
    def complete(self) -> bool:
        return self.reached >= self.households


def is_due_for_coverage_check(level: ScopeLevel, ends_on: date, checked: bool, *, today: date) -> bool:
    """A campaign's coverage is judged once, the day after it ended (district calendar); a project's has none."""
    return level is not ScopeLevel.PROJECT and ends_on < today and not checked


def coverage_gap_description(coverage: TownshipCoverage, *, campaign_name: str, round: int) -> str:
    """What the finding of a township below full coverage says."""
    return f"reached {coverage.reached} of {coverage.households} households in {campaign_name} round {round}"

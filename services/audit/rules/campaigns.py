"""Inspection campaigns' rules: a well-formed scope, dates in order, and what a running campaign covers."""

from __future__ import annotations

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

"""Households reacts to audit: its findings about a household, kept while their rectification is open."""

from __future__ import annotations

from services.households.models import HouseholdOpenFinding
from services.households.settings import HouseholdsSettings
from shared.contracts.audit import SubjectKind
from shared.messaging.handlers import HandlerRegistry
from shared.open_findings import track_open_findings


def build_handlers(settings: HouseholdsSettings) -> HandlerRegistry:
    """The handlers of the events households consumes (no setting changes them yet)."""
    handlers = HandlerRegistry()
    track_open_findings(handlers, HouseholdOpenFinding, kind=SubjectKind.HOUSEHOLD, subject="household_id")
    return handlers

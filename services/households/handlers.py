"""Households reacts to audit: a household's open problems, as audit tracks them."""

from __future__ import annotations

from services.households.models import OpenProblem
from shared.contracts.audit import SubjectKind
from shared.messaging.handlers import HandlerRegistry
from shared.open_problems import track_open_problems

handlers = HandlerRegistry()
track_open_problems(handlers, OpenProblem, kind=SubjectKind.HOUSEHOLD, subject="household_id")

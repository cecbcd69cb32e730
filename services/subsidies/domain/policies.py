"""What a payment, a cycle or a check may name: a period that has begun (the catalogue is `domain/catalogue.py`)."""

from __future__ import annotations

from datetime import date

from services.subsidies.rules.periods import period_begun
from shared.errors import InvalidInput


def ensure_period_begun(period: str, *, today: date) -> None:
    """InvalidInput naming `body.period` for a period (of any form: YYYY-MM, YYYY-S1/S2, YYYY) that has not begun on
    `today`: subsidies are paid and checked for periods that have begun, never in advance."""
    if not period_begun(period, today=today):
        raise InvalidInput(
            "The period has not begun: subsidies are paid and checked only for periods that have begun.",
            errors=[{"field": "body.period", "message": "the period has not begun", "code": "period_not_begun"}],
        )

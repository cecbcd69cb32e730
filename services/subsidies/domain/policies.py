"""What a payment or a coverage check may name: a policy of the catalogue (政策目录), a month that has begun."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from services.subsidies.rules.periods import period_begun
from shared.contracts.subsidies import PolicyCode
from shared.errors import InvalidInput


def ensure_known_policy(policy_code: PolicyCode, policies: Collection[PolicyCode]) -> None:
    """InvalidInput naming `body.policy_code` unless this deployment's catalogue (SUBSIDIES_POLICY_CODES) holds the
    policy: every code of `PolicyCode` is valid input, but a deployment pays only the programmes it runs."""
    if policy_code not in policies:
        raise InvalidInput(
            "The policy is not in this deployment's subsidy policy catalogue (政策目录).",
            errors=[
                {"field": "body.policy_code", "message": "not a policy of the catalogue", "code": "unknown_policy"}
            ],
        )


def ensure_period_begun(period: str, *, today: date) -> None:
    """InvalidInput naming `body.period` for a month that has not begun on `today`."""
    if not period_begun(period, today=today):
        raise InvalidInput(
            "The period has not begun: subsidies are paid and checked only for months that have begun.",
            errors=[{"field": "body.period", "message": "the period has not begun", "code": "period_not_begun"}],
        )

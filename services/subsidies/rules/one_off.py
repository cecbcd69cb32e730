"""A one-off programme (一次性补助: 危房改造, 临时救助, 医疗救助) pays a holder once, not in every month's cycle.

A holder already has it when another cycle of the programme whose money is committed (approved or paid) lists
them, or a payment of the programme to them is paid (by a cycle's bank line or by hand). A list computed, on
notice or submitted commits nothing yet: approvals of a programme run one at a time, so two lists can never both be
approved with the same holder. An entitlement a closed cycle left unpaid was never paid: a later cycle may list it.

Once within what: 临时救助 and 医疗救助 relieve a hardship that can come back, once per monitoring episode in the
district's practice; subsidies keeps no history of episodes to count them by, so these are paid once per holder and
calendar year. Every other one-off programme (危房改造: a house is renovated once) is paid once per holder ever.
"""

from __future__ import annotations

from shared.contracts.subsidies import PolicyCode

ONCE_A_YEAR: frozenset[str] = frozenset({PolicyCode.TEMPORARY_ASSISTANCE, PolicyCode.MEDICAL_AID})


def once_within(code: str, period: str) -> str | None:
    """How the periods an earlier grant counts within begin: the period's year (`2020-`) for a programme paid once
    a year, None (every period) for one paid once ever. A one-off period is written YYYY-MM."""
    return f"{period[:4]}-" if code in ONCE_A_YEAR else None


def _once(code: str) -> str:
    return "once a year" if code in ONCE_A_YEAR else "once"


def listed_reason(code: str, period: str, status: str) -> str:
    """Why a holder is left out: another cycle of the programme, approved or paid, lists them."""
    return f"a one-off programme pays a holder {_once(code)}: listed in its cycle of {period} ({status})"


def paid_reason(code: str, period: str) -> str:
    """Why a holder is left out: a payment of the programme to them is paid."""
    return f"a one-off programme pays a holder {_once(code)}: already paid for {period}"

"""Money reaching a household (转移性收入, 资产收益, 工资性收入), as pure rules: which kind of income a payment is,
which year it counts for, and what a receipt counts once its payment and any correction are known, in whichever
order they came."""

from __future__ import annotations

import re

from services.households.rules.vocabulary import ReceiptStatus, TransferKind
from shared.contracts.subsidies import PolicyCode
from shared.timeutil import CALENDAR_YEARS

# A subsidy's period: monthly or one-off "YYYY-MM", termly "YYYY-S1" / "YYYY-S2", yearly "YYYY" (ASCII digits).
_PERIOD = re.compile(r"^([0-9]{4})(-(0[1-9]|1[0-2]|S1|S2))?$")


# A programme whose payments are not transfer income: a distribution plan's share of an asset's income is asset income
# (资产收益), a public-welfare post's allowance is a wage (工资性收入) the holder earned.
_KIND_OF_PROGRAMME = {
    PolicyCode.PROJECT_INCOME_SHARE: TransferKind.PROJECT_INCOME,
    PolicyCode.PUBLIC_WELFARE_JOB_SUBSIDY: TransferKind.WAGE,
}


def kind_of_payment(policy_code: PolicyCode) -> TransferKind:
    """The kind of income a subsidy payment of the programme is (its correction takes back from the same kind)."""
    return _KIND_OF_PROGRAMME.get(policy_code, TransferKind.SUBSIDY)


def year_of_period(period: str) -> int:
    """The income year a payment for `period` counts in; ValueError for a period of no known form."""
    match = _PERIOD.fullmatch(period)
    if match is None or int(match.group(1)) not in CALENDAR_YEARS:
        raise ValueError("not a subsidy period (YYYY-MM, YYYY-S1, YYYY-S2 or YYYY)")
    return int(match.group(1))


def counted_fen(paid_fen: int | None, corrected_fen: int) -> int:
    """What a receipt adds to the household's income: the payment less what was reversed or recovered of it, never
    below nothing; nothing while the payment itself is not known."""
    if paid_fen is None:
        return 0
    return max(paid_fen - corrected_fen, 0)


def status_of(paid_fen: int | None, corrected_fen: int) -> ReceiptStatus:
    if paid_fen is None:
        return ReceiptStatus.AWAITING_PAYMENT
    return ReceiptStatus.CORRECTED if corrected_fen else ReceiptStatus.COUNTED

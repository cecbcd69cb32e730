"""The subsidies service's closed vocabularies: a programme's unit and frequency, and the states of cycles,
entitlements, batches, bank lines and payments."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

# The key naming a holder within its household, on an entitlement, a payment, an account or a bank line's holder:
# the member's id, or "-" for the household itself (not NULL, so a unique key cannot be slipped past).
HOUSEHOLD_HOLDER = "-"


def holder_key(member_id: UUID | None) -> str:
    """The holder key of the household (member None) or of one of its members."""
    return HOUSEHOLD_HOLDER if member_id is None else str(member_id)


class ProgrammeUnit(StrEnum):
    """Whom a programme pays: the household (低保, 危房改造) or each entitled member (雨露计划, 养老保险代缴)."""

    HOUSEHOLD = "household"
    MEMBER = "member"


class Frequency(StrEnum):
    """How often a programme pays, hence how its periods are written: YYYY-MM, YYYY-S1/S2 (spring/autumn term),
    YYYY, or the month of a one-off payment."""

    MONTHLY = "monthly"
    TERMLY = "termly"
    YEARLY = "yearly"
    ONE_OFF = "one_off"  # once per holder (or once a year): rules/one_off.py


class DecidedBy(StrEnum):
    """Who decides who a programme pays and how much: the catalogue's rule, judged here on households' facts (a cycle
    computed, posted for notice and approved in subsidies), or projects, whose approved distribution plans (收益分配
    方案) and payrolls of public-welfare posts (公益岗位工资表) subsidies only pays, each as a cycle approved already.
    A programme's `decided_by` and a cycle's `origin`."""

    CATALOGUE = "catalogue"
    PROJECTS = "projects"


class CycleStatus(StrEnum):
    DRAFT = "draft"
    COMPUTED = "computed"  # entitlement list computed
    ON_NOTICE = "on_notice"  # 公示: the list is posted, objections may be raised until notice_ends_on
    SUBMITTED = "submitted"  # submitted for approval by a preparer
    APPROVED = "approved"  # approved by a different person; batches may be built
    PAID = "paid"  # every line settled: paid, or failed and waiting for a follow-up
    CLOSED = "closed"


class EntitlementStatus(StrEnum):
    LISTED = "listed"
    WITHDRAWN = "withdrawn"  # an objection upheld, or no longer eligible when re-checked at approval


class ObjectionDecision(StrEnum):
    UPHELD = "upheld"
    DISMISSED = "dismissed"


class BatchStatus(StrEnum):
    BUILT = "built"
    EXPORTED = "exported"
    RECONCILED = "reconciled"  # the bank's result for every line is in


class LineStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"  # refused by the bank: a follow-up batch may pay it once the account is corrected
    RETURNED = "returned"  # paid, then sent back by the bank later (退回)
    # Paid, then its payment reversed by hand (冲正: the money never reached the payee). Not the bank's word and not
    # an account problem: a follow-up batch may pay the entitlement again, even into the same account.
    REVERSED = "reversed"


# What the bank may report of a line in its result file.
BANK_OUTCOMES = (LineStatus.PAID, LineStatus.FAILED, LineStatus.RETURNED)
# Lines the bank refused for their account: a follow-up pays the entitlement only into another account.
ACCOUNT_REFUSED = (LineStatus.FAILED, LineStatus.RETURNED)


class BankFailure(StrEnum):
    """The bank's reasons for not paying a line (or returning it)."""

    ACCOUNT_CLOSED = "account_closed"  # 销户
    NAME_MISMATCH = "name_mismatch"  # 户名不符
    ACCOUNT_FROZEN = "account_frozen"  # 冻结
    ACCOUNT_NOT_FOUND = "account_not_found"  # 账号不存在
    OTHER = "other"


class PaymentStatus(StrEnum):
    PAID = "paid"
    REVERSED = "reversed"
    RECOVERED = "recovered"

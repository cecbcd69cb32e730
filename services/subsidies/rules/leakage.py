"""Which payments should not have been made as they were (资金安全问题): the leak kinds of one paid payment, judged
from the holder's facts as of the period's first day, the programme version in force then and the account paid into.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from uuid import UUID

from services.subsidies.rules.eligibility import HolderFacts, amount_for, evaluate
from shared.contracts.households import HouseholdStatus
from shared.contracts.subsidies import LeakKind

DETAIL_LENGTH = 500  # a leak's detail as kept and published


@dataclass(frozen=True)
class PaidHolder:
    """A payment with status paid, as the check judges it: who was paid and how much."""

    payment_id: UUID
    household_id: UUID
    member_id: UUID | None
    amount_fen: int


@dataclass(frozen=True)
class Standard:
    """The programme version in force on the period's first day: what it pays and its eligibility rule."""

    amount_fen: int
    per_member: bool
    rule: Sequence[Mapping[str, object]]


@dataclass(frozen=True)
class Account:
    """The payee account a payment went into: the member it is in the name of (None: no member), whether that
    member is one of the household paid, and how many other households hold it as their active account."""

    holder_member_id: UUID | None
    holder_is_member: bool
    other_households: int


@dataclass(frozen=True)
class Found:
    """One leak of a payment: its kind and, in plain words, why."""

    kind: LeakKind
    detail: str


def find_leaks(paid: PaidHolder, facts: HolderFacts | None, standard: Standard, account: Account | None) -> list[Found]:
    """Every leak of one paid payment, in `LeakKind` order.

    `facts` is None when subsidies knows no such holder (a household never registered, a member not of the
    household): the payment entitled no one. A death or an exit before the period is the leak itself, reported as
    such rather than as the rule's failing conditions too; an amount is judged only for an entitled holder. A payment
    recorded with no payee account (`account` None) has no account to judge.
    """
    found = _entitlement_leaks(paid, facts, standard)
    if account is not None:
        found.extend(_account_leaks(account))
    order = list(LeakKind)
    return sorted(found, key=lambda leak: order.index(leak.kind))


def _entitlement_leaks(paid: PaidHolder, facts: HolderFacts | None, standard: Standard) -> list[Found]:
    if facts is None:
        who = "the household" if paid.member_id is None else f"member {paid.member_id} of the household"
        return [Found(LeakKind.PAID_NOT_ENTITLED, f"{who} is not known to subsidies: no rule can entitle it")]
    found = []
    if paid.member_id is not None and facts.values.get("member.alive") is False:
        found.append(Found(LeakKind.PAID_AFTER_DEATH, f"member {paid.member_id} had died before the period began"))
    if paid.member_id is None and facts.values.get("household.member_count") == 0:
        found.append(Found(LeakKind.PAID_AFTER_DEATH, "every member of the household had died before the period began"))
    if facts.values.get("household.status") == HouseholdStatus.EXITED_NO_POLICIES:
        exited = "the household had exited without policies (脱贫不享受政策) before the period began"
        found.append(Found(LeakKind.PAID_AFTER_EXIT, exited))
    decision = evaluate(standard.rule, facts)
    if not decision.entitled and not found:
        failed = "; ".join(check.reason for check in decision.checks if not check.holds)
        found.append(Found(LeakKind.PAID_NOT_ENTITLED, _clip(f"the rule did not entitle the holder: {failed}")))
    if decision.entitled:
        found.extend(_amount_leaks(paid, facts, standard))
    return found


def _amount_leaks(paid: PaidHolder, facts: HolderFacts, standard: Standard) -> list[Found]:
    """Paid other than the standard; per member, the members living on the period's first day."""
    living = facts.values.get("household.member_count")
    members = living if isinstance(living, int) else 0
    expected = amount_for(standard.amount_fen, standard.per_member, members)
    if paid.amount_fen == expected:
        return []
    basis = f"{members} living member(s) × {standard.amount_fen} fen" if standard.per_member else "the version in force"
    return [Found(LeakKind.WRONG_AMOUNT, f"paid {paid.amount_fen} fen; the standard is {expected} fen ({basis})")]


def _account_leaks(account: Account) -> list[Found]:
    found = []
    if account.other_households:
        found.append(
            Found(
                LeakKind.SHARED_ACCOUNT,
                f"the account paid into is also the active account of {account.other_households} other household(s)",
            )
        )
    if account.holder_member_id is None or not account.holder_is_member:
        found.append(Found(LeakKind.HOLDER_OUTSIDE_HOUSEHOLD, "the account paid into is in the name of no member"))
    return found


def _clip(detail: str) -> str:
    return detail if len(detail) <= DETAIL_LENGTH else detail[: DETAIL_LENGTH - 1] + "…"

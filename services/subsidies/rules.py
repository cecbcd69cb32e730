"""Subsidy rules as plain functions: which payments are acceptable, how project income is shared out, who is
entitled to which policy and which entitlements a coverage check finds unpaid."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import date, timedelta
from typing import NamedTuple
from uuid import UUID

from shared.contracts.households import MinimumAllowance, RiskKind
from shared.timeutil import period_start

# The policies each kind of household fact decides: an event replaces the entitlements of its own family only.
ALLOWANCE_POLICIES = frozenset({"dibao", "extreme_poverty_support"})
DISABILITY_POLICIES = frozenset({"disability_living_subsidy", "disability_nursing_subsidy"})
SCHOOLING_POLICIES = frozenset({"education_aid"})
MONITORING_POLICIES = frozenset({"temporary_assistance", "medical_aid"})


def check_period_begun(period: str, *, today: date) -> str:
    """A subsidy is paid, and its coverage checked, for a month that has begun, never in advance for a future one."""
    if period_start(period) > today:
        raise ValueError("the period has not begun: subsidies are paid and checked only for months that have begun")
    return period


def month_span(period: str) -> tuple[date, date]:
    """The first day of the period's month and the first day of the next."""
    first = period_start(period)
    return first, (first.replace(day=28) + timedelta(days=4)).replace(day=1)


def allocate_by_members(amount_fen: int, households: Mapping[UUID, int]) -> dict[UUID, int]:
    """Share `amount_fen` among households in proportion to their members (差异化分配), in whole fen.

    Each household first gets the whole fen of its exact share; the fen left over go one at a time to
    the households with the largest fractions, ties broken by household id, so the result is the same
    whatever the input order and always sums exactly to `amount_fen`. No households, nothing shared.
    """
    if amount_fen < 0:
        raise ValueError("amount_fen must not be negative")
    if any(count < 1 for count in households.values()):
        raise ValueError("every household has at least one member")
    total_members = sum(households.values())
    if total_members == 0:
        return {}
    shares = {hid: amount_fen * count // total_members for hid, count in households.items()}
    leftover = amount_fen - sum(shares.values())
    by_fraction = sorted(households, key=lambda hid: (-(amount_fen * households[hid] % total_members), str(hid)))
    for hid in by_fraction[:leftover]:
        shares[hid] += 1
    return shares


def allowance_entitlements(status: MinimumAllowance) -> frozenset[str]:
    """低保 entitles the household to `dibao`, 特困供养 to `extreme_poverty_support`, none to neither."""
    if status == MinimumAllowance.DIBAO:
        return frozenset({"dibao"})
    if status == MinimumAllowance.EXTREME_POVERTY:
        return frozenset({"extreme_poverty_support"})
    return frozenset()


def disability_entitlements(grade: int) -> frozenset[str]:
    """残疾人两项补贴: a certified member gets the living subsidy (困难残疾人生活补贴); grades 1-2, the severely
    disabled, also the nursing subsidy (重度残疾人护理补贴)."""
    return DISABILITY_POLICIES if grade <= 2 else frozenset({"disability_living_subsidy"})


def schooling_entitlements(enrolment: str) -> frozenset[str]:
    """教育资助 goes to a member enrolled at school; one who dropped out or is exempt gets none."""
    return SCHOOLING_POLICIES if enrolment == "enrolled" else frozenset()


def monitoring_entitlements(kind: RiskKind) -> frozenset[str]:
    """即时帮扶: a household flagged by relapse-risk monitoring gets temporary assistance (临时救助) while its
    episode is open, and medical aid (医疗救助) when a large medical expense put it at risk. Each flag of an episode
    adds its own; the episode's closing ends them all."""
    if kind == RiskKind.LARGE_MEDICAL_EXPENSE:
        return MONITORING_POLICIES
    return frozenset({"temporary_assistance"})


class Entitled(NamedTuple):
    """One entitlement to the policy checked: the household's (member None) or one member's, and where it is."""

    household_id: UUID
    member_id: UUID | None
    area_code: str


def find_gaps(entitled: Iterable[Entitled], paid_households: Collection[UUID]) -> list[Entitled]:
    """The entitlements no payment covers, by household then member.

    A payment is made to a household, once per policy and period, so it covers the household's entitlement and
    every member's entitlement to that policy: two disabled members of one household are paid in one payment.
    """
    gaps = [e for e in entitled if e.household_id not in paid_households]
    return sorted(gaps, key=lambda e: (e.household_id, e.member_id or UUID(int=0)))

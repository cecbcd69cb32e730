"""Who is entitled to which policy (享受政策资格), from one household fact at a time."""

from __future__ import annotations

from shared.contracts.households import MinimumAllowance, RiskKind
from shared.contracts.subsidies import PolicyCode as P

# The policies each kind of household fact decides: an event replaces the entitlements of its own family only.
ALLOWANCE_POLICIES = frozenset({P.DIBAO, P.EXTREME_POVERTY_SUPPORT})
DISABILITY_POLICIES = frozenset({P.DISABILITY_LIVING_SUBSIDY, P.DISABILITY_NURSING_SUBSIDY})
SCHOOLING_POLICIES = frozenset({P.EDUCATION_AID})
MONITORING_POLICIES = frozenset({P.TEMPORARY_ASSISTANCE, P.MEDICAL_AID})


def allowance_entitlements(status: MinimumAllowance) -> frozenset[P]:
    """低保 entitles the household to `dibao`, 特困供养 to `extreme_poverty_support`, none to neither."""
    if status == MinimumAllowance.DIBAO:
        return frozenset({P.DIBAO})
    if status == MinimumAllowance.EXTREME_POVERTY:
        return frozenset({P.EXTREME_POVERTY_SUPPORT})
    return frozenset()


def disability_entitlements(grade: int) -> frozenset[P]:
    """残疾人两项补贴: a certified member gets the living subsidy (困难残疾人生活补贴); grades 1-2, the severely
    disabled, also the nursing subsidy (重度残疾人护理补贴)."""
    return DISABILITY_POLICIES if grade <= 2 else frozenset({P.DISABILITY_LIVING_SUBSIDY})


def schooling_entitlements(enrolment: str) -> frozenset[P]:
    """教育资助 goes to a member enrolled at school; one who dropped out or is exempt gets none."""
    return SCHOOLING_POLICIES if enrolment == "enrolled" else frozenset()


def monitoring_entitlements(kind: RiskKind) -> frozenset[P]:
    """即时帮扶: a household flagged by relapse-risk monitoring gets temporary assistance (临时救助) while its
    episode is open, and medical aid (医疗救助) when a large medical expense put it at risk. Each flag of an episode
    adds its own; the episode's closing ends them all."""
    if kind == RiskKind.LARGE_MEDICAL_EXPENSE:
        return MONITORING_POLICIES
    return frozenset({P.TEMPORARY_ASSISTANCE})

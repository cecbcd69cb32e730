"""Who is entitled to which policy (享受政策资格), from one household fact at a time."""

from __future__ import annotations

from shared.contracts.households import MinimumAllowance, RiskKind

# The policies each kind of household fact decides: an event replaces the entitlements of its own family only.
ALLOWANCE_POLICIES = frozenset({"dibao", "extreme_poverty_support"})
DISABILITY_POLICIES = frozenset({"disability_living_subsidy", "disability_nursing_subsidy"})
SCHOOLING_POLICIES = frozenset({"education_aid"})
MONITORING_POLICIES = frozenset({"temporary_assistance", "medical_aid"})


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

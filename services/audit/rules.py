"""Audit's rules as plain functions: how serious a problem is, who owns it, when it is due, when to refer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.areas import township_of
from shared.contracts.audit import Severity, SubjectKind
from shared.contracts.households import ProblemCategory

# Problems that break one of the three guarantees or safe water (三保障和饮水安全) are serious at least.
_SERIOUS_CODES = frozenset(
    {
        "housing_unsafe",
        "school_dropout",
        "no_medical_insurance",
        "unsafe_water",
        "income_below_line",
    }
)
SEVERE_HOUSING_GRADE = "D"


@dataclass(frozen=True)
class ProblemFacts:
    """A problem reported to audit, whatever its source (visit, inspection, coverage check, department)."""

    subject_kind: SubjectKind
    subject_id: str
    area_code: str
    category: ProblemCategory
    code: str
    description: str
    source_ref: str
    housing_grade: str | None = None


@dataclass(frozen=True)
class DeadlinePolicy:
    """Days allowed to rectify, by severity (configurable per district)."""

    general_days: int = 30
    serious_days: int = 15
    severe_days: int = 7

    def deadline(self, severity: Severity, opened_at: datetime) -> datetime:
        days = {
            Severity.GENERAL: self.general_days,
            Severity.SERIOUS: self.serious_days,
            Severity.SEVERE: self.severe_days,
        }
        return opened_at + timedelta(days=days[severity])


def classify(facts: ProblemFacts) -> Severity:
    """Severity of a problem: a D-grade (collapsing) house is severe; a broken guarantee is serious."""
    if facts.code == "housing_unsafe" and facts.housing_grade == SEVERE_HOUSING_GRADE:
        return Severity.SEVERE
    if facts.code in _SERIOUS_CODES or facts.category is ProblemCategory.FUNDS:
        return Severity.SERIOUS
    return Severity.GENERAL


def owner_for(facts: ProblemFacts) -> str:
    """The unit answerable for rectification: the township office (乡镇) where the subject is."""
    return f"township_office:{township_of(facts.area_code)}"


def referral_reason_at_opening(severity: Severity) -> str | None:
    """Severe findings go to the discipline commission at once (线索移交)."""
    return "severe_finding" if severity is Severity.SEVERE else None

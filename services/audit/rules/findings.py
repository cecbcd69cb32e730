"""What a problem reported to audit is, how serious it is, who answers for it and by when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from shared.areas import township_of
from shared.contracts.accountability import ResponsiblePerson
from shared.contracts.audit import Severity, SubjectKind
from shared.contracts.households import ProblemCategory
from shared.contracts.subsidies import LeakKind
from shared.errors import RuleViolation

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
# A subsidy payment that should not have been made as it was (资金安全): a payment to a holder the rule did not
# entitle, or after a death or an exit, is serious (虚报冒领); one account receiving for several households is severe
# (截留挪用: someone collects others' money); a wrong amount to an entitled holder is general.
LEAK_SEVERITY = {
    LeakKind.PAID_NOT_ENTITLED: Severity.SERIOUS,
    LeakKind.WRONG_AMOUNT: Severity.GENERAL,
    LeakKind.PAID_AFTER_DEATH: Severity.SERIOUS,
    LeakKind.PAID_AFTER_EXIT: Severity.SERIOUS,
    LeakKind.SHARED_ACCOUNT: Severity.SEVERE,
    LeakKind.HOLDER_OUTSIDE_HOUSEHOLD: Severity.SERIOUS,
    LeakKind.DUPLICATE_DISBURSEMENT: Severity.SERIOUS,
}
_RANK = {Severity.GENERAL: 0, Severity.SERIOUS: 1, Severity.SEVERE: 2}
# Evidence references one entry (a finding, a repeat, a submission) may carry, and one finding may gather over its
# repeats: a finding is read whole, so what it holds is bounded (the OpenAPI document states both).
EVIDENCE_PER_ENTRY = 50
EVIDENCE_PER_FINDING = 200


@dataclass(frozen=True)
class EvidenceRef:
    """A pointer to evidence kept elsewhere (a photo, a document, an archive number), never the file itself."""

    kind: str
    reference: str
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "reference": self.reference, "note": self.note}


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
    stated_severity: Severity | None = None  # an inspector may judge a problem worse than the rules do
    responsible_unit: str | None = None
    responsible_person: str | None = None  # a name: personal data, kept in audit's tables only
    responsible: ResponsiblePerson | None = None  # who answers for it, as its source names them (责任人)
    found_on: date | None = None  # the visit's, check's or inspection's day; None: the day it is recorded
    reported_on: date | None = None  # the day its source reported it (an event's time); None: the day recorded
    campaign_id: UUID | None = None
    recorded_by: str | None = None  # the inspector's subject, for manual entries
    found_by: str | None = None  # the finder's login as the source says (a visitor, a department's feed, a check)
    evidence: tuple[EvidenceRef, ...] = field(default=())


@dataclass(frozen=True)
class DeadlinePolicy:
    """Days allowed to rectify, by severity (configurable per district)."""

    general_days: int = 30
    serious_days: int = 15
    severe_days: int = 7
    late_report_days: int = 7  # a problem reported later than this after it was found is late (迟报)

    def days(self, severity: Severity) -> int:
        """The term to rectify a problem of this severity, in days."""
        return {
            Severity.GENERAL: self.general_days,
            Severity.SERIOUS: self.serious_days,
            Severity.SEVERE: self.severe_days,
        }[severity]

    def deadline(self, severity: Severity, opened_at: datetime) -> datetime:
        return opened_at + timedelta(days=self.days(severity))


def classify(facts: ProblemFacts) -> Severity:
    """Severity of a problem: a D-grade (collapsing) house is severe; a broken guarantee is serious; a subsidy leak
    by its kind (`LEAK_SEVERITY`); any other problem with funds is serious.

    An inspector's stated severity can raise it, never lower it below what the rules say.
    """
    if facts.code == "housing_unsafe" and facts.housing_grade == SEVERE_HOUSING_GRADE:
        by_rule = Severity.SEVERE
    elif facts.code in _LEAK_CODES:
        by_rule = _LEAK_CODES[facts.code]
    elif facts.code in _SERIOUS_CODES or facts.category is ProblemCategory.FUNDS:
        by_rule = Severity.SERIOUS
    else:
        by_rule = Severity.GENERAL
    if facts.stated_severity is not None and is_graver(facts.stated_severity, by_rule):
        return facts.stated_severity
    return by_rule


def unpaid_policy_code(policy_code: str) -> str:
    """The problem code of a household not paid a policy it is entitled to: one open finding per policy."""
    return f"unpaid_{policy_code}"[:60]


def leak_code(kind: LeakKind) -> str:
    """The problem code of a subsidy leak: `subsidy_<kind>`, one open finding per payment and kind."""
    return f"subsidy_{kind.value}"


_LEAK_CODES = {leak_code(kind): severity for kind, severity in LEAK_SEVERITY.items()}


def ensure_room_for_evidence(held: int, added: int) -> None:
    """RuleViolation when a repeat's evidence would take a finding past `EVIDENCE_PER_FINDING` references."""
    if held + added > EVIDENCE_PER_FINDING:
        raise RuleViolation(
            f"This open finding holds {held} evidence references; one finding keeps at most {EVIDENCE_PER_FINDING}."
        )


def is_graver(severity: Severity, than: Severity) -> bool:
    return _RANK[severity] > _RANK[than]


def owner_for(facts: ProblemFacts) -> str:
    """The unit answerable for rectification: the township office (乡镇) where the subject is."""
    return f"township_office:{township_of(facts.area_code)}"

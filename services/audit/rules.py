"""Audit's rules as plain functions: how serious a problem is, who owns it, when it is due, when to refer."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from shared.areas import township_of
from shared.contracts.audit import CampaignKind, ScopeLevel, Severity, SubjectKind
from shared.contracts.households import ProblemCategory
from shared.errors import InvalidInput
from shared.timeutil import CALENDAR_YEARS, DISTRICT_TZ

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
_RANK = {Severity.GENERAL: 0, Severity.SERIOUS: 1, Severity.SEVERE: 2}
_ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$", re.ASCII)


class ReferralReason(StrEnum):
    """Why a finding went to the discipline commission (线索移交)."""

    SEVERE_FINDING = "severe_finding"  # at once
    OVERDUE_TASK = "overdue_task"  # the deadline passed unrectified
    FAILED_FOLLOW_UP = "failed_follow_up"  # a follow-up check (回头看) rejected the rectification
    WEEKLY_HANDOVER = "weekly_handover"  # serious problems, handed over each week (每周线索移交)


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
    campaign_id: UUID | None = None
    recorded_by: str | None = None  # the inspector's subject, for manual entries
    evidence: tuple[EvidenceRef, ...] = field(default=())


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
    """Severity of a problem: a D-grade (collapsing) house is severe; a broken guarantee is serious.

    An inspector's stated severity can raise it, never lower it below what the rules say.
    """
    if facts.code == "housing_unsafe" and facts.housing_grade == SEVERE_HOUSING_GRADE:
        by_rule = Severity.SEVERE
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


def is_graver(severity: Severity, than: Severity) -> bool:
    return _RANK[severity] > _RANK[than]


def owner_for(facts: ProblemFacts) -> str:
    """The unit answerable for rectification: the township office (乡镇) where the subject is."""
    return f"township_office:{township_of(facts.area_code)}"


def referral_reason_at_opening(severity: Severity) -> ReferralReason | None:
    """Severe findings go to the discipline commission at once (线索移交)."""
    return ReferralReason.SEVERE_FINDING if severity is Severity.SEVERE else None


# Serious (较严重) findings not referred otherwise are handed over weekly (每周线索移交); severe ones at once.
WEEKLY_HANDOVER_SEVERITY = Severity.SERIOUS


@dataclass(frozen=True, order=True)
class IsoWeek:
    """An ISO week in the district's calendar (Asia/Shanghai), written "2020-W20"."""

    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        match = _ISO_WEEK.fullmatch(text)
        if match is None:
            raise InvalidInput("A week is written like 2020-W20.")
        year, week = int(match.group(1)), int(match.group(2))
        if year not in CALENDAR_YEARS:
            raise InvalidInput(f"A week's year is within {CALENDAR_YEARS.start}-{CALENDAR_YEARS.stop - 1}.")
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError as exc:
            raise InvalidInput(f"{year} has no ISO week {week}.") from exc
        return cls(year, week)

    @classmethod
    def of(cls, moment: datetime) -> IsoWeek:
        """The district week containing `moment`."""
        calendar = moment.astimezone(DISTRICT_TZ).isocalendar()
        return cls(calendar.year, calendar.week)

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 7)

    @property
    def starts_at(self) -> datetime:
        """Monday 00:00 in the district, as an aware datetime."""
        return datetime.combine(self.monday, time(), DISTRICT_TZ)

    @property
    def ends_at(self) -> datetime:
        """The next Monday 00:00 in the district (exclusive end)."""
        return self.starts_at + timedelta(days=7)


def check_campaign_scope(kind: CampaignKind, level: ScopeLevel, code: str) -> None:
    """A campaign's scope must be well-formed; targeted supervision (挂牌督战) is of one township."""
    expected = {ScopeLevel.DISTRICT: 6, ScopeLevel.TOWNSHIP: 9, ScopeLevel.VILLAGE: 12}
    if kind is CampaignKind.TARGETED_SUPERVISION and level is not ScopeLevel.TOWNSHIP:
        raise InvalidInput("Targeted supervision (挂牌督战) is of one township: scope_level must be township.")
    if level is ScopeLevel.PROJECT:
        try:
            UUID(code)
        except ValueError as exc:
            raise InvalidInput("A project scope is the project's id.") from exc
    elif not (code.isascii() and code.isdigit() and len(code) == expected[level]):
        raise InvalidInput(f"A {level} scope is a {expected[level]}-digit area code.")


def campaign_covers(level: ScopeLevel, scope_code: str, *, area_code: str, subject_id: str) -> bool:
    """Whether a problem at `area_code` on `subject_id` lies within a campaign's scope."""
    if level is ScopeLevel.PROJECT:
        return subject_id == scope_code
    return area_code.startswith(scope_code)

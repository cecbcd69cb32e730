"""Who answers for a finding (责任人), by when, and whether it was reported late (迟报): plain rules, no database.

A finding names the person its source names (the household's helper cadre, the project's manager, the payment's
preparer or approver); failing that the area's officer (乡镇扶贫干部: the most specific area holding the
finding's); failing that no person, and the township office as its unit. Its deadline runs from the day the
problem was found, not from the day audit heard of it: a problem kept back is no fresher for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from uuid import UUID

from services.audit.rules.findings import DeadlinePolicy, ProblemFacts
from shared.areas import township_of
from shared.contracts.accountability import ResponsiblePerson, ResponsibleRole, Severity
from shared.contracts.households import ProblemCategory
from shared.errors import InvalidInput
from shared.timeutil import DISTRICT_TZ

LATE_REPORTING = "late_reporting"  # the code of a finding of late reporting (迟报/瞒报)
LATE_REPORTING_SEVERITY = Severity.SERIOUS


@dataclass(frozen=True)
class Responsibility:
    """What a finding says of who answers for it: a person (with their login, when known) and a unit."""

    person_id: str | None
    person: str | None
    unit: str | None  # none only when an inspector named a person without their unit
    role: ResponsibleRole | None

    @classmethod
    def of(cls, person: ResponsiblePerson) -> Responsibility:
        return cls(person_id=person.person_id, person=person.name, unit=person.unit, role=person.role)

    @property
    def named(self) -> ResponsiblePerson | None:
        """The person as events carry them; None without a login (notifications need one)."""
        if self.person_id is None or self.person is None or self.unit is None or self.role is None:
            return None
        return ResponsiblePerson(person_id=self.person_id, name=self.person, unit=self.unit, role=self.role)


def township_office(area_code: str) -> str:
    """The unit answering when no one nearer is known: the township office (乡镇) where the problem is."""
    return f"township_office:{township_of(area_code)}"


def areas_holding(area_code: str) -> list[str]:
    """The area codes that hold `area_code` (district, township, village), the most specific first."""
    return [area_code[:n] for n in (12, 9, 6) if len(area_code) >= n]


def officer_for(officers: Mapping[str, ResponsiblePerson], area_code: str) -> ResponsiblePerson | None:
    """The officer of the most specific area holding `area_code`, among `officers` by their area."""
    return next((officers[code] for code in areas_holding(area_code) if code in officers), None)


def responsibility(
    *,
    area_code: str,
    named: ResponsiblePerson | None = None,
    person: str | None = None,
    unit: str | None = None,
    officer: ResponsiblePerson | None = None,
) -> Responsibility:
    """Who answers: the person the source names (`named`); else the person or unit an inspector wrote (a name
    without a login, the unit as written); else the area's officer; else no person, and the township office."""
    if named is not None:
        return Responsibility.of(named)
    if person is not None or unit is not None:
        return Responsibility(person_id=None, person=person, unit=unit, role=None)
    if officer is not None:
        return Responsibility.of(officer)
    return Responsibility(person_id=None, person=None, unit=township_office(area_code), role=None)


def late_reporter(
    who: Responsibility, *, finder: str | None, officer: ResponsiblePerson | None, area_code: str
) -> Responsibility:
    """Who answers for reporting a problem late (迟报): whoever reported it late. The finding's own person when they
    found it themselves (a helper cadre entering their own visit late); otherwise not them (a department's feed, a
    check or another officer kept it back, not the household's cadre) but the area's officer, else the township."""
    if finder is not None and finder == who.person_id:
        return who
    return responsibility(area_code=area_code, officer=officer)


def end_of_day(day: date) -> datetime:
    """The end of `day` in the district's calendar, to the second (23:59:59, Asia/Shanghai): shown as a day, a
    deadline is that day."""
    return datetime.combine(day, time(23, 59, 59), DISTRICT_TZ)


def deadline(policy: DeadlinePolicy, severity: Severity, *, found_on: date, reported_at: datetime) -> datetime:
    """The end of the district day `found_on` + the severity's term; never before the moment it was reported: a
    problem found longer ago than its term is overdue at once."""
    return max(end_of_day(found_on + timedelta(days=policy.days(severity))), reported_at)


def days_late(policy: DeadlinePolicy, *, found_on: date, reported_on: date) -> int | None:
    """How many days after it was found a problem was reported, when that is more than the policy allows (迟报);
    None when it was reported in time."""
    waited = (reported_on - found_on).days
    return waited if waited > policy.late_report_days else None


def late_reporting(
    facts: ProblemFacts,
    reporter: Responsibility,
    *,
    finding_id: UUID,
    found_on: date,
    reported_on: date,
    policy: DeadlinePolicy,
) -> ProblemFacts | None:
    """The finding of late reporting (迟报/瞒报) a problem reported more than the policy's days after it was found
    opens: on the same subject, against whoever reported it late (`late_reporter`), found the day it was reported,
    once per finding reported late (`source_ref`); None when it was reported in time (or is itself a finding of
    late reporting)."""
    if facts.code == LATE_REPORTING or days_late(policy, found_on=found_on, reported_on=reported_on) is None:
        return None
    return ProblemFacts(
        subject_kind=facts.subject_kind,
        subject_id=facts.subject_id,
        area_code=facts.area_code,
        category=ProblemCategory.CONDUCT,
        code=LATE_REPORTING,
        description=late_report_description(facts.code, found_on=found_on, reported_on=reported_on),
        source_ref=str(finding_id),
        stated_severity=LATE_REPORTING_SEVERITY,
        responsible=reporter.named,
        responsible_person=None if reporter.named else reporter.person,
        responsible_unit=None if reporter.named else reporter.unit,
        found_on=reported_on,
        reported_on=reported_on,
    )


def late_report_description(code: str, *, found_on: date, reported_on: date) -> str:
    """What a finding of late reporting says: the problem, and both days."""
    waited = (reported_on - found_on).days
    return (
        f"Problem {code} was found on {found_on.isoformat()} and reported on {reported_on.isoformat()}, "
        f"{waited} days later."
    )


def person_held_to_account(
    name: str | None, unit: str | None, *, finding_person: str | None, finding_unit: str | None
) -> tuple[str, str]:
    """The name and unit of an accountability decision (问责): as the commission gives them, else the finding's
    responsible person and unit. InvalidInput when neither names anyone."""
    name, unit = name or finding_person, unit or finding_unit
    if name is None or unit is None:
        raise InvalidInput("The finding names no responsible person: give person_name and person_unit.")
    return name, unit

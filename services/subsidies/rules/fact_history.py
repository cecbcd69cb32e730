"""The dated history of the facts eligibility rules read (事实变更记录), and the facts it gives on a day.

Every fact subsidies keeps from households' events is a series of changes, each a value from a day on: 低保 from
the day civil affairs granted it, a housing grade from its appraisal, a death from the day after it. A fact's value
on a day is that of its latest change on or before the day, so a period is judged by the values it began with
however many changes came after, and a change that arrives late (older news) simply takes its place by its date.

Monitoring is kept per episode (防返贫监测): an episode is open from its opening to its closing, and its flags count
while it is open, whatever order the episode's events arrive in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from uuid import UUID

from services.subsidies.rules.vocabulary import HOUSEHOLD_HOLDER

HOUSEHOLD_KEY = HOUSEHOLD_HOLDER  # the holder key of the household's own facts; a member's is their id
SINCE_EVER = date(1900, 1, 1)  # the day of a value known with no day of its own: held before any period

STATUS = "household.status"
ALLOWANCE = "household.allowance"
HOUSING_GRADE = "household.housing_grade"
EPISODE = "household.monitoring_episode:"  # + the episode's id: open (true) from its opening, false from its closing
FLAG = "household.risk_flag:"  # + the episode's id, ":" and the RiskKind: raised on a day, counted while it is open
ALIVE = "member.alive"
DISABILITY_GRADE = "member.disability_grade"
ENROLMENT = "member.enrolment"
SCHOOL_STAGE = "member.school_stage"
MEDICAL_INSURED = "member.medical_insured"
PREMIUM_SUBSIDISED = "member.premium_subsidised"
# An episode kept from before episodes were told apart (migration 0011): the next closing closes it too.
EARLIER_EPISODE = "earlier"

# A fact's value on a day before any change of it: what a household is registered with.
DEFAULTS: dict[str, object] = {STATUS: "in_poverty", ALLOWANCE: "none", ALIVE: True}


Latest = Mapping[str, object]  # each fact's value on a day: its latest change's on or before it


def value_on(latest: Latest, fact: str) -> object:
    """The fact's value on the day: its latest change's, else its default (None: not known)."""
    return latest[fact] if fact in latest else DEFAULTS.get(fact)


def episode_fact(episode: UUID | str) -> str:
    return f"{EPISODE}{episode}"


def flag_fact(episode: UUID | str, kind: str) -> str:
    return f"{FLAG}{episode}:{kind}"


def monitoring(latest: Latest) -> tuple[bool, list[str]]:
    """Whether a monitoring episode is open on the day, and the flags raised on or before it in episodes still open
    on it, each kind once."""
    opened: set[str] = set()
    flags: list[tuple[str, str]] = []
    for name, value in latest.items():
        if name.startswith(EPISODE):
            if value:
                opened.add(name.removeprefix(EPISODE))
        elif name.startswith(FLAG):
            episode, kind = name.removeprefix(FLAG).split(":", 1)
            flags.append((episode, kind))
    return bool(opened), sorted({kind for episode, kind in flags if episode in opened}) if flags else []


def household_values(latest: Latest, living: int) -> dict[str, object]:
    """A household's facts on a day, from its facts' latest changes then and its members living then."""
    monitored, kinds = monitoring(latest)
    return {
        "household.status": value_on(latest, STATUS),
        "household.allowance": value_on(latest, ALLOWANCE),
        "household.housing_grade": value_on(latest, HOUSING_GRADE),
        "household.monitoring_open": monitored,
        "household.risk_kinds": kinds,
        "household.member_count": living,
    }


def alive(latest: Latest) -> bool:
    """Living on the day: no death before it."""
    return value_on(latest, ALIVE) is not False


def member_values(latest: Latest, *, birth_date: date | None, relationship: str | None, on: date) -> dict[str, object]:
    """A member's facts on the day `on`, from their facts' latest changes then and what never changes."""
    return {
        "member.age": age(birth_date, on),
        "member.relationship": relationship,
        "member.alive": alive(latest),
        "member.disability_grade": value_on(latest, DISABILITY_GRADE),
        "member.enrolment": value_on(latest, ENROLMENT),
        "member.school_stage": value_on(latest, SCHOOL_STAGE),
        "member.medical_insured": value_on(latest, MEDICAL_INSURED),
        "member.premium_subsidised": value_on(latest, PREMIUM_SUBSIDISED),
    }


def age(birth_date: date | None, on: date) -> int | None:
    """Whole years of age on `on` (None: the birth date is not known)."""
    if birth_date is None:
        return None
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def dead_from(died_on: date) -> date:
    """The first day a member who died on `died_on` is no longer living: the day after (a period that began on the
    day of the death still counts them)."""
    return died_on + timedelta(days=1)

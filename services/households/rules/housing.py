"""Housing safety's rules (住房安全有保障): what an appraisal says, and the renovation deadline of a C/D house."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from services.households.rules.vocabulary import UNSAFE_GRADES
from shared.errors import InvalidInput


def renovation_deadline(grade: str, appraised_on: date, given: date | None, default_days: int) -> date | None:
    """C/D houses get the given deadline or the district default; A/B houses have none."""
    if grade not in UNSAFE_GRADES:
        if given is not None:
            raise InvalidInput("Only a C or D house has a renovation deadline.")
        return None
    due = given or appraised_on + timedelta(days=default_days)
    if due < appraised_on:
        raise InvalidInput("The renovation deadline cannot be before the appraisal.")
    return due


@dataclass(frozen=True)
class AppraisalFacts:
    """What an appraisal found: grade A-D, when, by whom; a C/D house may carry its renovation deadline."""

    grade: str
    appraised_on: date
    appraiser: str
    renovation_due: date | None = None

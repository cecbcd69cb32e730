"""What a visit (走访/入户排查) found: the problems the visitor noted, and an unsafe house graded at the visit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.households.rules.vocabulary import UNSAFE_GRADES
from shared.contracts.households import ProblemCategory


@dataclass(frozen=True)
class ProblemNoted:
    """A problem as the visitor noted it."""

    category: ProblemCategory
    code: str
    description: str


def problems_from_visit(noted: Sequence[ProblemNoted], housing_grade: str | None) -> list[ProblemNoted]:
    """The problems a visit found: those reported, plus an unsafe house (C/D appraisal, 危房) if graded so."""
    problems = list(noted)
    if housing_grade in UNSAFE_GRADES and not any(p.code == "housing_unsafe" for p in problems):
        problems.append(
            ProblemNoted(
                ProblemCategory.HOUSING,
                "housing_unsafe",
                f"Housing appraised grade {housing_grade} (unsafe) at the visit.",
            )
        )
    return problems

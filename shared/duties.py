"""Separation of duties (不相容岗位分离), one rule for every service: a subsidy cycle approved by someone who neither
computed nor submitted it; a project accepted (验收) by someone other than its manager, a plan reviewed by someone
other than its preparer and approved by neither, a payroll approved by someone other than its preparer.

Token subjects name people: `wang.wu` and `Wang.Wu` are one officer, so subjects are compared without regard to case
(or to spaces around them).
"""

from __future__ import annotations

from shared.errors import Forbidden


def same_person(subject: str, other: str | None) -> bool:
    """Whether two token subjects name the same person (None: nobody, so never)."""
    return other is not None and subject.strip().casefold() == other.strip().casefold()


def ensure_someone_else(subject: str, *others: str | None, message: str) -> None:
    """403 `separation_of_duties` when `subject` is any of `others`."""
    if any(same_person(subject, other) for other in others):
        raise Forbidden(message, code="separation_of_duties")

"""When a finding goes to the discipline commission (线索移交), and why."""

from __future__ import annotations

from enum import StrEnum

from services.audit.rules.lifecycle import DEADLINE_CHANGES_PER_TASK, ROUNDS_PER_TASK
from shared.auth import Role
from shared.contracts.audit import Severity
from shared.contracts.households import ProblemCategory
from shared.errors import Forbidden

# Who may hand over a lead with the commission, or a finding on a cadre's conduct: not the township office, whose
# own people such a finding may be about.
LEAD_ASSIGNERS = frozenset({Role.DISTRICT_OFFICE, Role.DISCIPLINE_COMMISSION})


class ReferralReason(StrEnum):
    """Why a finding went to the discipline commission (线索移交)."""

    SEVERE_FINDING = "severe_finding"  # at once
    OVERDUE_TASK = "overdue_task"  # the deadline passed unrectified
    FAILED_FOLLOW_UP = "failed_follow_up"  # a follow-up check (回头看) rejected the rectification
    WEEKLY_HANDOVER = "weekly_handover"  # serious problems, handed over each week (每周线索移交)


# Serious (较严重) findings not referred otherwise are handed over weekly (每周线索移交); severe ones at once.
WEEKLY_HANDOVER_SEVERITY = Severity.SERIOUS


def referral_reason_at_opening(severity: Severity) -> ReferralReason | None:
    """Severe findings go to the discipline commission at once (线索移交)."""
    return ReferralReason.SEVERE_FINDING if severity is Severity.SEVERE else None


# The most referrals one finding can get, so that its history is bounded: once severe (at opening or found worse),
# once weekly (before any other), once per failed follow-up check (at most one a round), once overdue per deadline
# (the first, one per reopening (at most one a round) and one per deadline change).
REFERRALS_PER_FINDING = 2 + ROUNDS_PER_TASK + (1 + ROUNDS_PER_TASK + DEADLINE_CHANGES_PER_TASK)


def ensure_may_reassign(roles: frozenset[Role], *, referred: bool, category: str) -> None:
    """A referred finding (a lead with the commission) or one of conduct changes hands only by the district office
    or the discipline commission (Forbidden `referred_finding`)."""
    if (referred or category == ProblemCategory.CONDUCT) and not roles & LEAD_ASSIGNERS:
        raise Forbidden(
            "Only the district office or the discipline commission hands over a referred or conduct finding.",
            code="referred_finding",
        )

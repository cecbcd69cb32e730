"""A project's life (项目全周期): which moves there are, who may make each and what each needs. Data and pure
functions; the use cases gather the facts.

planned → approved → under_construction → completed → accepted → operating → closed. The step completed → accepted
is the acceptance (验收) itself, by an officer who is not the project's manager: no transition makes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from services.projects.rules.vocabulary import ProjectStatus
from shared.auth import Role
from shared.errors import Conflict, Forbidden

S = ProjectStatus

# The moves a transition may make, and the roles that may make each (批复立项 is the district's decision, and so
# is closing a project; the township office follows its construction and operation).
MOVES: dict[tuple[ProjectStatus, ProjectStatus], frozenset[Role]] = {
    (S.PLANNED, S.APPROVED): frozenset({Role.DISTRICT_OFFICE}),
    (S.APPROVED, S.UNDER_CONSTRUCTION): frozenset({Role.DISTRICT_OFFICE, Role.TOWNSHIP_OFFICE}),
    (S.UNDER_CONSTRUCTION, S.COMPLETED): frozenset({Role.DISTRICT_OFFICE, Role.TOWNSHIP_OFFICE}),
    (S.ACCEPTED, S.OPERATING): frozenset({Role.DISTRICT_OFFICE, Role.TOWNSHIP_OFFICE}),
    (S.OPERATING, S.CLOSED): frozenset({Role.DISTRICT_OFFICE}),
}
# The move only a passed acceptance (验收) makes.
ACCEPTANCE_MOVE = (S.COMPLETED, S.ACCEPTED)
# Accepted or beyond: acceptance is no longer due.
ACCEPTANCE_DONE = frozenset({S.ACCEPTED, S.OPERATING, S.CLOSED})
# Milestones are planned and followed while the project is approved or being built.
BUILDING = frozenset({S.APPROVED, S.UNDER_CONSTRUCTION})


def ensure_move(from_status: ProjectStatus, to_status: ProjectStatus, roles: Iterable[Role]) -> None:
    """Conflict (`transition_not_allowed`, naming both ends) unless a transition may move the project so, and
    Forbidden (`transition_role`) unless one of `roles` may make that move."""
    allowed = MOVES.get((from_status, to_status))
    if allowed is None:
        how = " (a passed acceptance makes it)" if (from_status, to_status) == ACCEPTANCE_MOVE else ""
        raise Conflict(
            f"A project cannot move from {from_status} to {to_status} by a transition{how}.",
            code="transition_not_allowed",
            from_status=from_status.value,
            to_status=to_status.value,
        )
    if not allowed & frozenset(roles):
        raise Forbidden(
            f"Moving a project from {from_status} to {to_status} is for: {', '.join(sorted(allowed))}.",
            code="transition_role",
        )


@dataclass(frozen=True)
class Readiness:
    """What a project has, as far as its next move asks: funding draws, milestones not completed, assets."""

    funding_draws: int = 0
    open_milestones: int = 0
    assets: int = 0


def unmet_need(to_status: ProjectStatus, ready: Readiness) -> tuple[str, str] | None:
    """The code and message of what the move to `to_status` still needs, or None when it may be made."""
    if to_status is S.APPROVED and ready.funding_draws == 0:
        return "no_funding", "A project is approved with its funding: draw on a funding line first."
    if to_status is S.COMPLETED and ready.open_milestones > 0:
        return "milestones_open", f"{ready.open_milestones} milestone(s) not completed yet."
    if to_status is S.OPERATING and ready.assets == 0:
        return "no_assets", "An accepted project operates its registered assets (资产确权): register one first."
    return None


def needs_acceptance_due(to_status: ProjectStatus) -> bool:
    """Approval (批复) fixes the day the project is to be accepted by."""
    return to_status is S.APPROVED


def effective_too_early(effective_on: date, *, last_effective_on: date | None) -> bool:
    """A step of a project's life is not dated before the step it follows."""
    return last_effective_on is not None and effective_on < last_effective_on


def progress_goes_back(current_pct: int, new_pct: int) -> bool:
    """Construction progress is reported as it stands: it never goes back."""
    return new_pct < current_pct


def ensure_status(status: str, allowed: Iterable[ProjectStatus], *, doing: str) -> None:
    """Conflict (`project_state`, naming the project's status) unless the project is in one of `allowed`."""
    if status not in {s.value for s in allowed}:
        raise Conflict(f"The project is {status}: it cannot {doing} now.", code="project_state", project_status=status)


def contract_expired(expires_on: date, *, today: date) -> bool:
    """A contract covers its last day; the day after, it has expired."""
    return expires_on < today

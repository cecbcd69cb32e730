"""The rectification task's life (整改): its states, who may move it, and when it is due or overdue.

open -> in_progress -> submitted (with evidence) -> verified or reopened at a follow-up check (回头看)
-> closed; a submitted or verified task is also reopened when its problem is found again. Plain rules, no
database: the use cases in `domain/rectification.py` and `domain/scheduled.py` apply them.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from enum import StrEnum

from shared.auth import Principal, Role
from shared.contracts.audit import Severity
from shared.errors import Forbidden, InvalidInput, RuleViolation


class TaskStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    REOPENED = "reopened"
    CLOSED = "closed"


class TaskAction(StrEnum):
    START = "start"
    SUBMIT = "submit"
    VERIFY = "verify"
    REJECT = "reject"
    CLOSE = "close"
    RESCHEDULE = "reschedule"


# The owner's turn: a task in one of these states can fall overdue and can be rescheduled.
ACTIVE = frozenset({TaskStatus.OPEN, TaskStatus.IN_PROGRESS, TaskStatus.REOPENED})
_FROM: dict[TaskAction, frozenset[TaskStatus]] = {
    TaskAction.START: frozenset({TaskStatus.OPEN, TaskStatus.REOPENED}),
    TaskAction.SUBMIT: frozenset({TaskStatus.IN_PROGRESS}),
    TaskAction.VERIFY: frozenset({TaskStatus.SUBMITTED}),
    TaskAction.REJECT: frozenset({TaskStatus.SUBMITTED}),
    TaskAction.CLOSE: frozenset({TaskStatus.VERIFIED}),
    TaskAction.RESCHEDULE: ACTIVE,
}
_TO: dict[TaskAction, TaskStatus] = {
    TaskAction.START: TaskStatus.IN_PROGRESS,
    TaskAction.SUBMIT: TaskStatus.SUBMITTED,
    TaskAction.VERIFY: TaskStatus.VERIFIED,
    TaskAction.REJECT: TaskStatus.REOPENED,
    TaskAction.CLOSE: TaskStatus.CLOSED,
}
_WHY_NOT: dict[TaskAction, str] = {
    TaskAction.START: "Only an open or reopened task can be started.",
    TaskAction.SUBMIT: "Only a task in progress can be submitted; start it first.",
    TaskAction.VERIFY: "Only a submitted task can be checked.",
    TaskAction.REJECT: "Only a submitted task can be checked.",
    TaskAction.CLOSE: "Only a task verified at a follow-up check can be closed: submit evidence and have it checked.",
    TaskAction.RESCHEDULE: "Only a task still with its owner (open, in progress, reopened) can be rescheduled.",
}


# The owner reported these rectified; the problem found again contradicts the report (a rectification on paper,
# 数字整改, closes nothing): the task is reopened.
CONTRADICTED_BY_RECURRENCE = frozenset({TaskStatus.SUBMITTED, TaskStatus.VERIFIED})


def is_contradicted_by_recurrence(status: str) -> bool:
    """Whether a repeat of the task's problem sends the task back to its owner."""
    return TaskStatus(status) in CONTRADICTED_BY_RECURRENCE


# Every move a task's status can make: by an action, or back to its owner when its problem is found again.
MOVES = frozenset(
    {(before, _TO[action]) for action in _TO for before in _FROM[action]}
    | {(before, TaskStatus.REOPENED) for before in CONTRADICTED_BY_RECURRENCE}
)


def next_status(current: str, action: TaskAction) -> TaskStatus:
    """The state `action` moves a task in `current` to; RuleViolation when the move is not allowed."""
    if TaskStatus(current) not in _FROM[action]:
        raise RuleViolation(_WHY_NOT[action], task_status=current)
    return _TO.get(action, TaskStatus(current))


def acts_for_owner(owner: str, actor: Principal) -> bool:
    """Whether `actor` belongs to the owning unit ("township_office:371523101" = that township's office)."""
    return Role.TOWNSHIP_OFFICE in actor.roles and owner == f"{Role.TOWNSHIP_OFFICE}:{actor.area}"


def ensure_can_work(owner: str, actor: Principal) -> None:
    """Only the owning unit (or the district office acting for it) works a task."""
    if Role.DISTRICT_OFFICE in actor.roles or acts_for_owner(owner, actor):
        return
    raise Forbidden("Only the owning unit works this rectification task.")


def ensure_independent_verifier(owner: str, worked_by: Collection[str], actor: Principal) -> None:
    """Separation of duties: who rectified a problem (or their unit) does not verify it."""
    if actor.subject in worked_by:
        raise Forbidden("You worked on this task; its follow-up check must be done by someone else.")
    if acts_for_owner(owner, actor):
        raise Forbidden("Your unit owns this task; its follow-up check must be done by someone else.")


# A task is read whole with its steps (a subject's history), so they are bounded: rounds of submission (each checked
# at most once, each reopening it at most once) and deadline moves by the district office. A rule moves a deadline
# too, at most once per step up in severity (`RULE_MOVES`), which no limit may refuse.
ROUNDS_PER_TASK = 20
RESCHEDULES_PER_TASK = 20
RULE_MOVES = len(Severity) - 1
DEADLINE_CHANGES_PER_TASK = RESCHEDULES_PER_TASK + RULE_MOVES


def ensure_round_left(submitted: int) -> None:
    """RuleViolation when a task has been submitted `ROUNDS_PER_TASK` times already."""
    if submitted >= ROUNDS_PER_TASK:
        raise RuleViolation(
            f"This task has been submitted {submitted} times, the most a task is; each failed round was referred "
            "to the discipline commission, which decides what follows."
        )


def ensure_reschedule_left(changes: int) -> None:
    """RuleViolation when a task's deadline has been moved `RESCHEDULES_PER_TASK` times already."""
    if changes >= RESCHEDULES_PER_TASK:
        raise RuleViolation(f"This task's deadline has been moved {changes} times, the most a deadline is.")


def ensure_evidence(evidence: Collection[object]) -> None:
    """A rectification is submitted with at least one piece of evidence."""
    if not evidence:
        raise RuleViolation("A rectification is submitted with at least one evidence reference.")


# The longest rectification term (整改期限) a task may be given, from its opening: a deadline years ahead would
# keep a problem from ever falling overdue, and so from ever reaching the discipline commission.
LONGEST_TERM = timedelta(days=366)


def check_new_deadline(new_deadline: datetime, *, opened_at: datetime, current: datetime) -> None:
    """A deadline may move either way but never before the task existed nor beyond its longest term, and must
    actually change."""
    if new_deadline.tzinfo is None:
        raise InvalidInput("The deadline needs a time zone.")
    if new_deadline <= opened_at:
        raise InvalidInput("The new deadline must be after the task was opened.")
    if new_deadline > opened_at + LONGEST_TERM:
        raise InvalidInput("A rectification term is at most a year from the task's opening.")
    if new_deadline == current:
        raise InvalidInput("The new deadline is the current one.")


def is_overdue(status: str, deadline: datetime, now: datetime) -> bool:
    """Overdue: still the owner's to do and past its deadline (a submitted task waits for its check, not its owner)."""
    return TaskStatus(status) in ACTIVE and deadline < now


def is_done_on_time(submitted_at: datetime | None, closed_at: datetime, deadline: datetime) -> bool:
    """Closed on time: its (last) rectification submitted by the deadline, however long the check then took; a task
    closed without a submission counts by the day it closed."""
    return (submitted_at or closed_at) <= deadline


def is_due_soon(status: str, deadline: datetime, now: datetime, lead: timedelta) -> bool:
    """Due soon: still the owner's to do, the deadline not passed and at most `lead` away."""
    return TaskStatus(status) in ACTIVE and now <= deadline <= now + lead

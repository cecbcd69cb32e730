"""The rectification task's rules as plain functions: transitions, who may act, overdue and due soon."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.audit.rules.lifecycle import (
    TaskAction,
    TaskStatus,
    check_new_deadline,
    ensure_can_work,
    ensure_evidence,
    ensure_independent_verifier,
    is_due_soon,
    is_overdue,
    next_status,
)
from shared.errors import Forbidden, InvalidInput, RuleViolation
from tests.unit.test_audit_support import (
    DISTRICT,
    INSPECTOR,
    OTHER_TOWNSHIP_OFFICER,
    TOWNSHIP,
    TOWNSHIP_COLLEAGUE,
    TOWNSHIP_OFFICER,
)

OWNER = f"township_office:{TOWNSHIP}"
DEADLINE = datetime(2020, 5, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "action", "after"),
    [
        (TaskStatus.OPEN, TaskAction.START, TaskStatus.IN_PROGRESS),
        (TaskStatus.REOPENED, TaskAction.START, TaskStatus.IN_PROGRESS),
        (TaskStatus.IN_PROGRESS, TaskAction.SUBMIT, TaskStatus.SUBMITTED),
        (TaskStatus.SUBMITTED, TaskAction.VERIFY, TaskStatus.VERIFIED),
        (TaskStatus.SUBMITTED, TaskAction.REJECT, TaskStatus.REOPENED),
        (TaskStatus.VERIFIED, TaskAction.CLOSE, TaskStatus.CLOSED),
        (TaskStatus.IN_PROGRESS, TaskAction.RESCHEDULE, TaskStatus.IN_PROGRESS),
    ],
)
def test_allowed_transitions(status: TaskStatus, action: TaskAction, after: TaskStatus) -> None:
    assert next_status(status, action) is after


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (TaskStatus.OPEN, TaskAction.CLOSE),  # closing without evidence or a check
        (TaskStatus.SUBMITTED, TaskAction.CLOSE),  # submitted but not yet verified
        (TaskStatus.OPEN, TaskAction.SUBMIT),  # must be started first
        (TaskStatus.IN_PROGRESS, TaskAction.VERIFY),  # nothing submitted to check
        (TaskStatus.CLOSED, TaskAction.START),
        (TaskStatus.SUBMITTED, TaskAction.RESCHEDULE),  # the ball is with the verifier
        (TaskStatus.CLOSED, TaskAction.RESCHEDULE),
    ],
)
def test_forbidden_transitions(status: TaskStatus, action: TaskAction) -> None:
    with pytest.raises(RuleViolation):
        next_status(status, action)


def test_only_the_owning_township_or_the_district_works_a_task() -> None:
    ensure_can_work(OWNER, TOWNSHIP_OFFICER)
    ensure_can_work(OWNER, DISTRICT)
    for outsider in (OTHER_TOWNSHIP_OFFICER, INSPECTOR):
        with pytest.raises(Forbidden):
            ensure_can_work(OWNER, outsider)


def test_who_worked_a_task_or_belongs_to_its_unit_cannot_verify_it() -> None:
    worked_by = {"district-officer-1"}
    with pytest.raises(Forbidden, match="You worked"):
        ensure_independent_verifier(OWNER, worked_by, DISTRICT)
    with pytest.raises(Forbidden, match="Your unit"):
        ensure_independent_verifier(OWNER, {"township-officer-1"}, TOWNSHIP_COLLEAGUE)
    ensure_independent_verifier(OWNER, worked_by, INSPECTOR)


def test_submission_needs_evidence() -> None:
    with pytest.raises(RuleViolation, match="evidence"):
        ensure_evidence([])
    ensure_evidence(["photo"])


def test_new_deadline_after_opening_and_different() -> None:
    opened = datetime(2020, 5, 1, tzinfo=UTC)
    check_new_deadline(opened + timedelta(seconds=1), opened_at=opened, current=DEADLINE)  # shorter is allowed
    with pytest.raises(InvalidInput, match="after the task was opened"):
        check_new_deadline(opened, opened_at=opened, current=DEADLINE)
    with pytest.raises(InvalidInput, match="current one"):
        check_new_deadline(DEADLINE, opened_at=opened, current=DEADLINE)
    check_new_deadline(opened + timedelta(days=366), opened_at=opened, current=DEADLINE)
    with pytest.raises(InvalidInput, match="at most a year"):
        check_new_deadline(opened + timedelta(days=366, seconds=1), opened_at=opened, current=DEADLINE)


@pytest.mark.parametrize(
    ("status", "now", "overdue"),
    [
        (TaskStatus.OPEN, DEADLINE + timedelta(seconds=1), True),
        (TaskStatus.IN_PROGRESS, DEADLINE + timedelta(days=1), True),
        (TaskStatus.REOPENED, DEADLINE + timedelta(days=3), True),
        (TaskStatus.OPEN, DEADLINE, False),  # due at the deadline, overdue only after it
        (TaskStatus.SUBMITTED, DEADLINE + timedelta(days=1), False),  # waiting for its check, not its owner
        (TaskStatus.VERIFIED, DEADLINE + timedelta(days=1), False),
        (TaskStatus.CLOSED, DEADLINE + timedelta(days=1), False),
    ],
)
def test_overdue(status: TaskStatus, now: datetime, overdue: bool) -> None:
    assert is_overdue(status, DEADLINE, now) is overdue


@pytest.mark.parametrize(
    ("status", "now", "due_soon"),
    [
        (TaskStatus.OPEN, DEADLINE - timedelta(days=2), True),
        (TaskStatus.IN_PROGRESS, DEADLINE, True),
        (TaskStatus.OPEN, DEADLINE - timedelta(days=2, seconds=1), False),  # not yet within the lead
        (TaskStatus.OPEN, DEADLINE + timedelta(seconds=1), False),  # overdue, not due soon
        (TaskStatus.SUBMITTED, DEADLINE - timedelta(days=1), False),
    ],
)
def test_due_soon_within_the_lead(status: TaskStatus, now: datetime, due_soon: bool) -> None:
    assert is_due_soon(status, DEADLINE, now, timedelta(days=2)) is due_soon

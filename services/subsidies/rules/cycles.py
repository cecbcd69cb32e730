"""The rules of a cycle (发放周期): which step may follow which, who may approve, the public notice (公示) and its
objection window, and the funds an approval may not exceed. Pure: the use cases bring the facts and the day."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from services.subsidies.rules.eligibility import ENGINE_FACTS, Decision, HolderFacts, amount_for, evaluate
from services.subsidies.rules.vocabulary import CycleStatus
from shared.duties import ensure_someone_else
from shared.errors import Conflict, InvalidInput

S = CycleStatus


class CycleStep(StrEnum):
    """What may be done to a cycle; each step is allowed from the statuses of `ALLOWED_FROM`."""

    COMPUTE = "computed"
    POST_NOTICE = "put on public notice"
    RAISE_OBJECTION = "objected to"
    DECIDE_OBJECTION = "have an objection decided"
    SUBMIT = "submitted"
    APPROVE = "approved"
    MARK_PAID = "marked paid"
    CLOSE = "closed"


# A list may be computed again until it is submitted: on notice, a recomputed list goes back to `computed` and
# must be posted again for a whole notice period (an upheld objection about a household left out needs it).
ALLOWED_FROM: dict[CycleStep, frozenset[CycleStatus]] = {
    CycleStep.COMPUTE: frozenset({S.DRAFT, S.COMPUTED, S.ON_NOTICE}),
    CycleStep.POST_NOTICE: frozenset({S.COMPUTED}),
    CycleStep.RAISE_OBJECTION: frozenset({S.ON_NOTICE}),
    CycleStep.DECIDE_OBJECTION: frozenset({S.ON_NOTICE}),
    CycleStep.SUBMIT: frozenset({S.ON_NOTICE}),
    CycleStep.APPROVE: frozenset({S.SUBMITTED}),
    CycleStep.MARK_PAID: frozenset({S.APPROVED}),
    CycleStep.CLOSE: frozenset({S.APPROVED, S.PAID}),
}
# The list as posted (公示) may be read from the day it is posted on.
POSTED = frozenset({S.ON_NOTICE, S.SUBMITTED, S.APPROVED, S.PAID, S.CLOSED})


def ensure_step(status: str, step: CycleStep) -> None:
    """Conflict (`cycle_state`, naming the current status) unless `step` may be taken from `status`."""
    if status not in ALLOWED_FROM[step]:
        raise Conflict(
            f"The cycle is {status}: it cannot be {step.value} now.", code="cycle_state", cycle_status=status
        )


def ensure_separation(approver: str, *, submitted_by: str | None, computed_by: str | None) -> None:
    """Forbidden (`separation_of_duties`) when the approver submitted the list or computed it: 审批 is by a
    different person from whoever prepared it."""
    ensure_someone_else(
        approver,
        submitted_by,
        computed_by,
        message="A cycle is approved by someone other than who computed or submitted its list.",
    )


def check_notice_window(starts_on: date, ends_on: date, *, today: date, notice_days: int) -> None:
    """InvalidInput unless the notice starts today or later and lasts at least `notice_days` days, both ends
    included (公示期不少于 notice_days 天)."""
    errors = []
    if starts_on < today:
        errors.append(_error("body.starts_on", "the notice cannot start before today", "notice_in_past"))
    if (ends_on - starts_on).days + 1 < notice_days:
        message = f"the notice lasts at least {notice_days} days, both ends included"
        errors.append(_error("body.ends_on", message, "notice_too_short"))
    if errors:
        raise InvalidInput("The public notice's window is not valid.", errors=errors)


def check_objection_day(raised_on: date, *, starts_on: date, ends_on: date, today: date) -> None:
    """InvalidInput unless an objection was raised within the notice window and not after today."""
    if raised_on > today:
        raise InvalidInput(
            "An objection cannot be raised on a day to come.",
            errors=[_error("body.raised_on", "after today", "raised_in_future")],
        )
    if not starts_on <= raised_on <= ends_on:
        message = f"the objection window is {starts_on.isoformat()} to {ends_on.isoformat()}"
        raise InvalidInput(
            "Objections are raised within the public notice's window only.",
            errors=[_error("body.raised_on", message, "outside_notice_window")],
        )


def ensure_notice_ended(ends_on: date | None, *, today: date) -> None:
    """InvalidInput (`notice_not_ended`) while the objection window is still open: a list is submitted the day after
    its notice ends at the earliest."""
    if ends_on is None or today <= ends_on:
        raise InvalidInput(
            "The public notice has not ended: the list is submitted after its objection window closes.",
            errors=[_error("cycle.notice_ends_on", f"the notice ends on {ends_on}", "notice_not_ended")],
        )


def ensure_listed_any(entitled_count: int) -> None:
    """InvalidInput (`nothing_listed`) for a list with nobody on it: there is nothing to post."""
    if entitled_count == 0:
        raise InvalidInput(
            "The list entitles nobody: there is nothing to post.",
            errors=[_error("cycle.entitled_count", "no entitlement is listed", "nothing_listed")],
        )


def check_funds(total_fen: int, available_fen: int) -> None:
    """InvalidInput (`insufficient_funds`, with both figures) when the list costs more than the programme has left
    for the year."""
    if total_fen > available_fen:
        raise InvalidInput(
            "The list costs more than the programme's funds left for the year.",
            errors=[
                _error("cycle.total_fen", f"{total_fen} fen needed, {available_fen} available", "insufficient_funds")
            ],
            total_fen=total_fen,
            available_fen=available_fen,
        )


def ensure_objections_settled(undecided: Collection[UUID], awaiting_recompute: Collection[UUID]) -> None:
    """InvalidInput naming each objection that blocks submission: one not decided yet (`objection_undecided`), or
    one upheld about a household left out and decided after the list was last computed (`recompute_needed`: its
    facts are fixed at their source, then the list is computed and posted again)."""
    errors = [_error(f"objections.{oid}", "not decided yet", "objection_undecided") for oid in undecided]
    errors += [
        _error(f"objections.{oid}", "upheld for a household left out: compute the list again", "recompute_needed")
        for oid in awaiting_recompute
    ]
    if errors:
        raise InvalidInput("Objections to the list are not settled: see each one.", errors=errors)


def upheld_reason(objection_id: UUID) -> str:
    """Why an entitlement left the list: an objection to it was upheld (异议成立)."""
    return f"withdrawn: objection {objection_id} raised during the public notice was upheld"


class Standard(Protocol):
    """What a programme version says: its rule, its amount, and whether that amount is per living member."""

    @property
    def rule(self) -> Sequence[Mapping[str, object]]: ...
    @property
    def amount_fen(self) -> int: ...
    @property
    def per_member(self) -> bool: ...


@dataclass(frozen=True)
class Judgement:
    """A holder judged by a version: the rule's decision, its explanation, and what they are paid (0 when not
    entitled)."""

    decision: Decision
    explanation: list[dict[str, object]]
    amount_fen: int

    @property
    def listed(self) -> bool:
        """Entitled to something: a holder entitled to nothing (no living member to pay for) is not listed."""
        return self.amount_fen > 0


def judge(standard: Standard, facts: HolderFacts) -> Judgement:
    """Judge one holder's facts by a version's rule, and price the entitlement by its standard."""
    decision = evaluate(standard.rule, facts)
    living = facts.values.get("household.member_count")
    amount = amount_for(standard.amount_fen, standard.per_member, living if type(living) is int else 0)
    return Judgement(decision, decision.explanation(), amount if decision.entitled else 0)


class Judge:
    """Judges many holders by one version, deciding once per distinct combination of the facts its rule reads
    (and the engine's own conditions read): a list of 100,000 households holds a few dozen, so the
    rule is evaluated a few dozen times, and holders alike share one explanation. `MEMORY` combinations at most
    are kept: memory stays flat whatever the facts."""

    MEMORY = 10_000

    def __init__(self, standard: Standard) -> None:
        self.standard = standard
        # The engine's own conditions read their facts whatever the rule reads; a per-member amount counts one.
        self._read = [*ENGINE_FACTS, *(str(condition["fact"]) for condition in standard.rule)]
        self._known: dict[tuple[object, ...], Judgement] = {}

    def __call__(self, facts: HolderFacts) -> Judgement:
        # A fact's values are all of its one type (a flag's never mix with a number's), so plain values make the
        # key; a set of codes, kept as a list, becomes a tuple.
        values = facts.values
        key = (facts.member_id is None, *(tuple(v) if isinstance(v := values.get(n), list) else v for n in self._read))
        if (known := self._known.get(key)) is not None:
            return known
        if len(self._known) >= self.MEMORY:
            self._known.clear()
        judged = self._known[key] = judge(self.standard, facts)
        return judged


AT_APPROVAL = "at approval"
AT_BATCH = "before its bank line was built"


def withdrawal_reason(decision: Decision, when: str = AT_APPROVAL) -> str:
    """Why a holder is no longer entitled, in the words of the first condition that failed."""
    failed = next((check.reason for check in decision.checks if not check.holds), "no living member to pay for")
    return f"no longer entitled when re-checked {when}: {failed}"[:500]


def paid_by_hand_reason(payment_id: UUID) -> str:
    """Why a holder paid the programme and period by hand (outside the cycle) leaves its list."""
    return f"paid by hand: payment {payment_id}"


def gone_reason(when: str = AT_APPROVAL) -> str:
    """Why a holder no longer in the register is no longer entitled."""
    return f"no longer entitled when re-checked {when}: the holder is no longer in the register"


def _error(field: str, message: str, code: str) -> dict[str, str]:
    return {"field": field, "message": message, "code": code}

"""What a bank's result line does to a payment instruction (对账): its effect, or why the line contradicts what is
known. Pure: the lines the file names are given as they stand.

| the line is | the bank says | effect |
| --- | --- | --- |
| pending | paid | pay: the line paid, a payment of its own recorded (a follow-up's too, after a return) |
| pending | failed | fail: the line failed with the bank's reason (a follow-up batch may pay it) |
| paid | returned | return: the line returned, its payment reversed (冲正) |
| paid, failed, returned | the same again | none: already known (a result imported again) |
| paid, reversed | paid, under another bank serial or on another day | duplicate: the bank paid it twice (a leak) |
| reversed (冲正 by hand) | paid (the same serial and day), returned | none: the reversal already undid the payment |
| paid, its payment recovered (追回) | returned | none: the money came back to a payment already undone |
| anything else | | refused: a failed line is paid only by a follow-up's new line; a line is returned only once paid |
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID

from services.subsidies.rules.bank_results import ResultLine, line_error
from services.subsidies.rules.vocabulary import LineStatus, PaymentStatus


class Effect(StrEnum):
    PAY = "pay"
    FAIL = "fail"
    RETURN = "return"
    DUPLICATE = "duplicate"  # a paid line paid again: the money went out twice (重复支付)
    NONE = "none"


@dataclass(frozen=True, slots=True)
class LineState:
    """A payment instruction as it stands, with what a result line needs to know of its entitlement's payment."""

    batch_id: UUID
    line_no: int
    amount_fen: int
    status: LineStatus
    settled_on: date | None
    bank_reference: str | None = None  # the bank's serial of the line, as its result last gave it
    payment_status: PaymentStatus | None = None  # the payment this line made, if it made one
    entitlement_paid: bool = False  # the entitlement has a paid payment (an earlier line's, not returned)
    holder_paid_by_hand: bool = False  # the holder has a paid payment of this programme and period made by hand


@dataclass(frozen=True, slots=True)
class Planned:
    """A result line and what it does."""

    line: ResultLine
    effect: Effect


_EFFECTS: dict[tuple[LineStatus, LineStatus], Effect] = {
    (LineStatus.PENDING, LineStatus.PAID): Effect.PAY,
    (LineStatus.PENDING, LineStatus.FAILED): Effect.FAIL,
    (LineStatus.PAID, LineStatus.RETURNED): Effect.RETURN,
    (LineStatus.PAID, LineStatus.PAID): Effect.NONE,
    (LineStatus.FAILED, LineStatus.FAILED): Effect.NONE,
    (LineStatus.RETURNED, LineStatus.RETURNED): Effect.NONE,
    (LineStatus.REVERSED, LineStatus.PAID): Effect.NONE,
    (LineStatus.REVERSED, LineStatus.RETURNED): Effect.NONE,
}
# Lines the bank reported paid: reported paid again under another serial or day, they were paid twice.
_DISBURSED = (LineStatus.PAID, LineStatus.REVERSED)
# Payments no longer paid: the bank's return of one finds nothing to reverse.
_UNDONE = (PaymentStatus.REVERSED, PaymentStatus.RECOVERED)
_REFUSALS: dict[tuple[LineStatus, LineStatus], tuple[str, str]] = {
    (LineStatus.PENDING, LineStatus.RETURNED): (
        "returned_before_paid",
        "The line was never reported paid: a line is returned only once paid.",
    ),
    (LineStatus.PAID, LineStatus.FAILED): ("contradicts_paid", "The line was already reported paid."),
    (LineStatus.FAILED, LineStatus.PAID): (
        "paid_after_failed",
        "The line was reported failed: a failed line is paid only by a follow-up batch's new line.",
    ),
    (LineStatus.FAILED, LineStatus.RETURNED): ("contradicts_failed", "The line was reported failed, never paid."),
    (LineStatus.RETURNED, LineStatus.PAID): ("contradicts_returned", "The line was already reported returned."),
    (LineStatus.RETURNED, LineStatus.FAILED): ("contradicts_returned", "The line was already reported returned."),
    (LineStatus.REVERSED, LineStatus.FAILED): (
        "contradicts_paid",
        "The line was already reported paid (its payment was since reversed by hand).",
    ),
}


def effect_of(current: LineStatus, reported: LineStatus) -> Effect | tuple[str, str]:
    """What the bank's `reported` outcome does to a line that is `current`: an effect, or (code, message)."""
    return _EFFECTS.get((current, reported)) or _REFUSALS[(current, reported)]


def plan(
    lines: Sequence[ResultLine], known: Mapping[UUID, LineState], *, batch_id: UUID
) -> tuple[list[Planned], list[dict[str, Any]]]:
    """Each line's effect on the batch, and the errors of the lines that do not fit it (each on its own)."""
    planned: list[Planned] = []
    errors: list[dict[str, Any]] = []
    for line in lines:
        outcome = _planned(line, known.get(line.reference), batch_id)
        if isinstance(outcome, Planned):
            planned.append(outcome)
        else:
            errors.append(line_error(line.row, *outcome))
    return planned, errors


def _planned(line: ResultLine, state: LineState | None, batch_id: UUID) -> Planned | tuple[str, str]:
    if state is None:
        return "unknown_reference", "No payment instruction has this reference."
    if state.batch_id != batch_id:
        return "wrong_batch", "This reference is a line of another batch."
    if state.line_no != line.line_no:
        return "line_no_mismatch", f"This reference is line {state.line_no} of the batch."
    if state.amount_fen != line.amount_fen:
        return "amount_mismatch", "The amount is not the amount of the line the bank was sent."
    effect = effect_of(state.status, line.status)
    if not isinstance(effect, Effect):
        return effect
    effect = _given_the_payment(line, state, effect)
    return _payment_problem(line, state, effect) or Planned(line, effect)


def _given_the_payment(line: ResultLine, state: LineState, effect: Effect) -> Effect:
    """The effect, given what became of the line's payment: a line the bank reported paid, reported paid again under
    another serial or day, was paid twice; a return of a payment already undone (recovered 追回, or reversed) has
    nothing left to reverse, and changes nothing (the other lines of the file are imported as ever)."""
    if effect is Effect.NONE and state.status in _DISBURSED and line.status is LineStatus.PAID:
        return Effect.DUPLICATE if _paid_again(line, state) else Effect.NONE
    if effect is Effect.RETURN and state.payment_status in _UNDONE:
        return Effect.NONE
    return effect


def _paid_again(line: ResultLine, state: LineState) -> bool:
    """Whether a line the bank reported paid is reported paid a second time: on another day, or under another
    serial (a serial missing from either report tells nothing). The same serial and day is the same payment,
    reported again."""
    other_serial = (
        None not in (line.bank_reference, state.bank_reference) and line.bank_reference != state.bank_reference
    )
    return line.settled_on != state.settled_on or other_serial


def _payment_problem(line: ResultLine, state: LineState, effect: Effect) -> tuple[str, str] | None:
    """Why the line's effect cannot be recorded against the payments as they stand, if it cannot."""
    if effect is Effect.PAY and state.holder_paid_by_hand:
        return (
            "holder_paid_by_hand",
            "The holder was paid this programme and period outside the cycle: the payment would be a second one.",
        )
    if effect is Effect.PAY and state.entitlement_paid:
        return "entitlement_paid", "The entitlement already has a payment that was not reversed or recovered."
    if effect is Effect.RETURN and state.settled_on is not None and line.settled_on < state.settled_on:
        return "bad_settled_on", "A line cannot be returned before the day it was paid."
    return None

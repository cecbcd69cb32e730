"""Accountability's rules (问责): when a decision may be dated, and the named notice (实名制通报) as a document."""

from __future__ import annotations

from datetime import date

from services.audit.models import AccountabilityAction, Finding
from services.audit.rules.documents import markdown_cell as cell
from shared.contracts.audit import AccountabilityKind
from shared.errors import InvalidInput, RuleViolation

KIND_LABELS = {
    AccountabilityKind.TALK: "约谈",
    AccountabilityKind.CRITICISM_NOTICE: "通报批评",
    AccountabilityKind.ADMONISHMENT: "诫勉",
    AccountabilityKind.SANCTION: "处分",
}


# Decisions recorded on one finding's referrals (a finding's history is read whole, so they are bounded).
DECISIONS_PER_FINDING = 50


def ensure_decision_left(decided: int) -> None:
    """RuleViolation when `DECISIONS_PER_FINDING` decisions are recorded on the finding already."""
    if decided >= DECISIONS_PER_FINDING:
        raise RuleViolation(f"{decided} decisions are recorded on this finding, the most one finding holds.")


def check_decision_date(decided_on: date, *, referred_on: date, today: date) -> None:
    """A decision is dated between the referral it answers and today (district calendar)."""
    if decided_on > today:
        raise InvalidInput("A decision cannot be dated in the future.")
    if decided_on < referred_on:
        raise InvalidInput("A decision cannot be dated before the referral it answers.")


def named_notice_markdown(rows: list[tuple[AccountabilityAction, Finding]], *, start: date, end: date) -> str:
    """The named notice (实名制通报) as a readable document: who, which unit, what decision, for what problem."""
    lines = [
        f"# 实名制通报 Named notice {start.isoformat()} – {end.isoformat()}",
        "",
        f"{len(rows)} accountability decision(s).",
        "",
        "| # | Decided | Name | Unit | Position | Decision | Problem | Area |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for number, (action, finding) in enumerate(rows, start=1):
        kind = AccountabilityKind(action.kind)
        lines.append(
            f"| {number} | {action.decided_on.isoformat()} | {cell(action.person_name)} | {cell(action.person_unit)}"
            f" | {cell(action.person_position)} | {KIND_LABELS[kind]} ({kind}) | {cell(finding.description)}"
            f" | {finding.area_code} |"
        )
    return "\n".join(lines) + "\n"

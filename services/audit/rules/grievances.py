"""Complaints and reports from the public (群众诉求): their channels and statuses, the reply's deadline (答复期限),
and what intake, triage and the reply must satisfy.

A grievance is received, then triaged (分办: a finding opened, or the reason none was), then replied to (答复); each
step once, in that order. The complainant is owed a reply within the district's term (信访: 15 days by default),
counted from the day it was received; one still unanswered after that day is itself a finding.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from shared.contracts.households import ProblemCategory
from shared.errors import Conflict, InvalidInput

UNANSWERED_CODE = "grievance_unanswered"
UNANSWERED_CATEGORY = ProblemCategory.CONDUCT
FINDING_DESCRIPTION_MAX = 1000  # a finding's description
EVIDENCE_PREFIX = "grievance:"  # a finding's evidence names the grievance it came from: `grievance:<id>`


class GrievanceChannel(StrEnum):
    HOTLINE_12317 = "hotline_12317"  # 12317 扶贫监督举报电话
    LETTERS_VISITS = "letters_visits"  # 信访: letters and visits
    ONLINE = "online"  # 网上举报


class GrievanceStatus(StrEnum):
    RECEIVED = "received"  # 已受理
    TRIAGED = "triaged"  # 已分办: a finding opened, or the reason none was recorded
    REPLIED = "replied"  # 已答复


class TriageDecision(StrEnum):
    FINDING = "finding"  # 属实或需核查: a finding opens
    NO_FINDING = "no_finding"  # 不予立项: the note says why


def invalid(field: str, message: str, code: str) -> InvalidInput:
    """A 422 naming the field and the rule (never the value sent)."""
    return InvalidInput(message, errors=[{"field": f"body.{field}", "message": message, "code": code}])


def response_due_on(received_on: date, days: int) -> date:
    """The last day the complainant may be answered on: `days` after the day it was received."""
    return received_on + timedelta(days=days)


def is_unanswered(status: str, due_on: date, today: date) -> bool:
    """Past its reply's last day with no reply (overdue from the day after `due_on`)."""
    return status != GrievanceStatus.REPLIED and today > due_on


def check_intake(*, received_on: date, anonymous: bool, has_contact: bool, today: date) -> None:
    """A grievance is not received in the future; an anonymous one has no contact, any other one has one."""
    if received_on > today:
        raise invalid("received_on", "A grievance cannot be received in the future.", "date_in_future")
    if anonymous and has_contact:
        raise invalid("contact", "An anonymous report carries no contact: send one or the other.", "contact_anonymous")
    if not anonymous and not has_contact:
        raise invalid("contact", "A report that is not anonymous needs the complainant's contact.", "contact_missing")


def check_triage(status: str, decision: TriageDecision, *, category: str | None, code: str | None) -> None:
    """Triage once, from `received`; a finding needs its category and code, and only a finding has them."""
    if status != GrievanceStatus.RECEIVED:
        raise Conflict("This grievance has already been triaged.")
    if decision is TriageDecision.FINDING:
        for field, value in (("category", category), ("code", code)):
            if value is None:
                raise invalid(field, f"A finding needs its {field}.", "finding_needs_" + field)
    elif category is not None or code is not None:
        raise invalid("decision", "A category and a code belong to a finding only.", "finding_fields_without_finding")


def _squeezed(text: str) -> str:
    return "".join(text.split()).replace("-", "")


def check_note(note: str, *, name: str, phone: str) -> None:
    """A triage note becomes a published finding's description and is read by the township: it may not carry the
    complainant's name or phone (compared without spaces or dashes), which only the district and the commission
    may open (422 `note_names_complainant`; the message repeats neither)."""
    squeezed = _squeezed(note)
    # A one-character name would match any note with that character; names and phones are longer.
    values = [squeezed_value for squeezed_value in map(_squeezed, (name, phone)) if len(squeezed_value) > 1]
    if any(value in squeezed for value in values):
        message = "A triage note does not name the complainant or give their phone: it is read and published."
        raise invalid("note", message, "note_names_complainant")


def check_reply(status: str, *, replied_on: date, received_on: date, today: date) -> None:
    """Reply once, after triage, dated between the day it was received and today."""
    if status == GrievanceStatus.REPLIED:
        raise Conflict("This grievance has already been replied to.")
    if status != GrievanceStatus.TRIAGED:
        raise Conflict("A grievance is replied to after its triage.")
    if replied_on > today:
        raise invalid("replied_on", "A reply cannot be dated in the future.", "date_in_future")
    if replied_on < received_on:
        raise invalid("replied_on", "A reply cannot be dated before the grievance was received.", "before_received")


def finding_description(note: str) -> str:
    """What a finding opened by triage says: the officer's note, never the complainant's words (a finding's
    description is published), cut to a finding's length."""
    return note if len(note) <= FINDING_DESCRIPTION_MAX else note[: FINDING_DESCRIPTION_MAX - 1] + "…"


def unanswered_description(channel: str, received_on: date, due_on: date) -> str:
    """What the finding of an unanswered grievance says (no complainant, no summary: it is published)."""
    return (
        f"群众诉求逾期未答复: a {channel} grievance received {received_on.isoformat()} was not answered by "
        f"{due_on.isoformat()}"
    )

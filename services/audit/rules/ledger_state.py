"""What the log says the findings, rectification tasks and referrals are, and how that is compared with their tables.

Each change that moves one of them logs its facts with its entry (hashed with it): the entity, `finding/<id>`,
`task/<id>` or `referral/<id>`, and the fields the change leaves set. Replayed in the log's order they give what each
entity must be now; every field the log knows is compared with the entity's row. The replay follows the rules: a
move they never make (a severity lowered, a task closed unverified, a referral changed) is no change the service made,
whoever appended it with a chained hash, and is reported. Rows made before the log kept facts start the replay
from the inventory migration 0012 logged of them. Facts hold ids, codes, statuses and deadlines only: no names,
descriptions or other personal data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, cast

from services.audit.models import FindingStatus
from services.audit.rules.findings import is_graver
from services.audit.rules.lifecycle import ACTIVE, MOVES, TaskStatus
from shared.contracts import IntegrationEvent
from shared.contracts.audit import (
    DisciplineReferralMade,
    FindingRecorded,
    FindingRecurred,
    RectificationClosed,
    RectificationOpened,
    RectificationRejected,
    RectificationReopened,
    RectificationRescheduled,
    RectificationStarted,
    RectificationSubmitted,
    RectificationVerified,
    Severity,
)

EntityKind = Literal["finding", "task", "referral"]
# The entity's fields as the log states them: {"finding/<id>": {"status": "open", "severity": "severe"}, ...}
State = dict[str, dict[str, str]]
EXISTS = "exists"  # a difference of this field: the row is missing, or the log never made it
# The entries migration 0012 logged of the rows it found, before the log kept the facts of each change: each row's
# fields as they stood, the replay's starting point.
INVENTORY = "ledger.inventory"
_FACTS_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"))  # one encoder for every entry


def moment(value: datetime) -> str:
    """A time as facts state it: UTC, ISO 8601 with microseconds."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


# The task's status after each of its moves.
STATUS_AFTER: dict[type[IntegrationEvent], TaskStatus] = {
    RectificationStarted: TaskStatus.IN_PROGRESS,
    RectificationSubmitted: TaskStatus.SUBMITTED,
    RectificationVerified: TaskStatus.VERIFIED,
    RectificationRejected: TaskStatus.REOPENED,
    RectificationReopened: TaskStatus.REOPENED,
    RectificationClosed: TaskStatus.CLOSED,
}
TaskMove = (
    RectificationStarted
    | RectificationSubmitted
    | RectificationVerified
    | RectificationRejected
    | RectificationReopened
    | RectificationClosed
)


def facts_of(event: IntegrationEvent) -> State:
    """The state `event` leaves its finding, task or referral in (empty: it changes none of them)."""
    facts: State = {}
    match event:
        case FindingRecorded():
            facts[f"finding/{event.finding_id}"] = {"status": FindingStatus.OPEN, "severity": event.severity}
        case FindingRecurred(severity=severity) if severity is not None:
            facts[f"finding/{event.finding_id}"] = {"severity": severity}
        case RectificationOpened():
            facts[f"task/{event.task_id}"] = {
                "status": TaskStatus.OPEN,
                "finding_id": str(event.finding_id),
                "deadline": moment(event.deadline),
            }
        case DisciplineReferralMade():
            facts[f"referral/{event.referral_id}"] = {"finding_id": str(event.finding_id), "reason": event.reason}
    if isinstance(event, TaskMove):
        facts[f"task/{event.task_id}"] = {"status": STATUS_AFTER[type(event)]}
    if isinstance(event, RectificationRejected | RectificationReopened | RectificationRescheduled):
        facts.setdefault(f"task/{event.task_id}", {})["deadline"] = moment(event.deadline)
    if isinstance(event, RectificationClosed):
        facts[f"finding/{event.finding_id}"] = {"status": FindingStatus.CLOSED}
    return facts


def to_text(facts: State) -> str | None:
    """Facts as the log stores (and hashes) them; None when there are none."""
    return _FACTS_JSON.encode(facts) if facts else None


def finding_fields(status: str, severity: str) -> dict[str, str]:
    """A finding's fields the log states: its row's, or the facts of a change."""
    return {"status": status, "severity": severity}


def task_fields(status: str, finding_id: object, deadline: datetime) -> dict[str, str]:
    return {"status": status, "finding_id": str(finding_id), "deadline": moment(deadline)}


def referral_fields(finding_id: object, reason: str, severity: str) -> dict[str, str]:
    return {"finding_id": str(finding_id), "reason": reason, "severity": severity}


DifferenceKind = Literal["differs", "forbidden_transition"]


@dataclass(frozen=True)
class Difference:
    """What the check found about one field. `differs`: the row differs from what the log says (`exists` when the
    row or the log's record is missing). `forbidden_transition`: the log's entry `seq` states a move the rules never
    make (`log`: from -> to), so the entry is no change the service made: it is left out of the replay."""

    entity: EntityKind
    id: str
    field: str
    log: str | None
    table: str | None
    kind: DifferenceKind = "differs"
    seq: int | None = None


class Replay:
    """The log's facts folded in the log's order into what each entity must be now, later facts overriding earlier
    ones field by field; each move the rules forbid (a severity lowered, a task closed unverified, a referral
    changed ...) is noted, not applied. Facts are fed one entry at a time, so the log need not fit in memory."""

    def __init__(self) -> None:
        self.state: State = {}
        self.forbidden: list[Difference] = []
        self.entries = 0
        self._changes_began = False

    def apply(self, seq: int, event_type: str, text: str) -> None:
        self.entries += 1
        facts: State = json.loads(text)
        if event_type == INVENTORY and not self._changes_began:  # the rows as they stood: the starting point
            self.state.update({entity: dict(fields) for entity, fields in facts.items()})
            return
        self._changes_began = True
        refused = {entity: _forbidden(entity, fields, self.state, facts) for entity, fields in facts.items()}
        for entity, fields in facts.items():
            move = refused[entity]
            if move is not None:
                kind, _, id_ = entity.partition("/")
                self.forbidden.append(
                    Difference(cast(EntityKind, kind), id_, move[0], move[1], None, "forbidden_transition", seq)
                )
                continue
            known = self.state.setdefault(entity, {})
            known.update(fields)
            # A referral carries the severity its finding had when it was made: the finding's, as the log stated it.
            severity = self.state.get(f"finding/{fields.get('finding_id')}", {}).get("severity")
            if entity.startswith("referral/") and severity is not None and "severity" not in known:
                known["severity"] = severity


def _forbidden(entity: str, fields: dict[str, str], state: State, entry: State) -> tuple[str, str] | None:
    """The first field of `fields` whose move from `state` the rules forbid, as (field, "from -> to"); None: none."""
    kind, _, id_ = entity.partition("/")
    known = state.get(entity)
    if known is None:
        return None if _is_made(kind, fields, state) else (EXISTS, "no -> yes")
    if kind == "referral":  # a referral, once made, is never changed nor un-made
        field = min(fields)
        return field, f"{known.get(field)} -> {fields[field]}"
    allowed = _finding_may if kind == "finding" else _task_may
    for field, value in sorted(fields.items()):
        if not allowed(id_, known, field, value, state, entry):
            return field, f"{known.get(field)} -> {value}"
    return None


def _is_made(kind: str, fields: dict[str, str], state: State) -> bool:
    """Whether `fields` are those of the change that makes an entity of `kind` (of a finding the log knows)."""
    if kind == "finding":
        return fields.keys() == {"status", "severity"} and fields["status"] == FindingStatus.OPEN
    of_known_finding = f"finding/{fields.get('finding_id')}" in state
    if kind == "task":
        return (
            fields.keys() == {"status", "finding_id", "deadline"}
            and fields["status"] == TaskStatus.OPEN
            and (of_known_finding)
        )
    return fields.keys() == {"finding_id", "reason"} and of_known_finding


def _finding_may(id_: str, known: dict[str, str], field: str, value: str, state: State, entry: State) -> bool:
    """An open finding is only found graver, or closed with its verified task; a closed one never changes."""
    if known.get("status") != FindingStatus.OPEN:
        return False
    if field == "severity":
        return value in set(Severity) and is_graver(Severity(value), Severity(known["severity"]))
    if field != "status" or value != FindingStatus.CLOSED:
        return False
    return any(
        fields.get("status") == TaskStatus.CLOSED
        and state.get(task, {}).get("finding_id") == id_
        and state[task].get("status") == TaskStatus.VERIFIED
        for task, fields in entry.items()
        if task.startswith("task/")
    )


def _task_may(id_: str, known: dict[str, str], field: str, value: str, state: State, entry: State) -> bool:
    """A task moves along its lifecycle; its deadline moves while it is with its owner; its finding never changes."""
    if field == "status":
        return (known.get("status"), value) in MOVES
    if field == "deadline":
        return entry[f"task/{id_}"].get("status", known.get("status")) in ACTIVE
    return False


def differences(expected: State, actual: State) -> list[Difference]:
    """Every field of `expected` (the log) that `actual` (the tables) does not hold, every entity the log knows that
    the tables lack, and every row the log never made."""
    found = []
    for entity, fields in sorted(expected.items()):
        kind, _, id_ = entity.partition("/")
        row = actual.get(entity)
        if row is None:
            found.append(Difference(cast(EntityKind, kind), id_, EXISTS, "yes", "no"))
            continue
        for field, value in sorted(fields.items()):
            if row.get(field) != value:
                found.append(Difference(cast(EntityKind, kind), id_, field, value, row.get(field)))
    for entity in sorted(actual.keys() - expected.keys()):
        kind, _, id_ = entity.partition("/")
        found.append(Difference(cast(EntityKind, kind), id_, EXISTS, "no", "yes"))
    return found

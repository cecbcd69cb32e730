"""The tamper-evident log: a verification's outcome, the exported chain head, the state checked against the log."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from services.audit.rules.ledger import MAX_LISTED_BREAKS, BreakKind
from services.audit.rules.ledger_state import DifferenceKind, EntityKind
from services.audit.schemas.common import Output


class LedgerBreakRead(Output):
    seq: int
    kind: BreakKind
    detail: str


class LedgerVerificationRead(Output):
    ok: bool
    entries_checked: int
    head_seq: int
    head_hash: str
    first_break: LedgerBreakRead | None
    anchors_checked: int = Field(description="heads anchored outside the database the log was compared with")
    breaks: list[LedgerBreakRead] = Field(
        max_length=MAX_LISTED_BREAKS, description="every break, in the log's order (the first 100)"
    )
    break_count: int
    protected: bool = Field(
        description="whether the service's database role cannot change the log (PostgreSQL: it neither owns the "
        "log nor may update, delete or truncate it); false on SQLite"
    )
    protection: str = Field(description="why the log is protected or not")


class LedgerHeadRead(BaseModel):
    """The chain head, to be signed and kept outside the database."""

    seq: int
    entry_hash: str
    recorded_at: datetime | None
    exported_at: datetime
    algorithm: str
    canonical_form: str


class StateDifferenceRead(Output):
    """A field whose row differs from what the log says (`exists`: the row is missing, or the log never made it), or
    a move the log states that the rules forbid."""

    entity: EntityKind
    id: str
    field: str
    log: str | None = Field(
        description="the value the log's replay gives (`yes`/`no` for `exists`); for a forbidden transition, the "
        "move the log states (`from -> to`)"
    )
    table: str | None = Field(description="the value the table holds (none for a forbidden transition)")
    kind: DifferenceKind = Field(
        description="`differs`: the table differs from the log; `forbidden_transition`: an entry of the log states "
        "a move the rules never make (a severity lowered, a task closed unverified, a referral changed)"
    )
    seq: int | None = Field(description="the entry stating a forbidden transition")


# The most differences one answer lists (`difference_count` counts them all; `poverty verify-ledger` prints all).
MAX_LISTED_DIFFERENCES = 1000


class StateCheckRead(Output):
    ok: bool
    entries_replayed: int
    entities_checked: int
    difference_count: int
    differences: list[StateDifferenceRead] = Field(
        max_length=MAX_LISTED_DIFFERENCES, description="the first 1000 differences, by entity and field"
    )

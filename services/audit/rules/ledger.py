"""The tamper-evident log's chain: how an entry's hash is made, how entries are chained, what a break is.

entry_hash = sha256 over a canonical JSON of (seq, recorded_at, source, event_type, payload_hash, prev_hash), and the
entry's `facts` when it has any (entries written before facts were kept hash as they always did).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from services.audit.models import LedgerEntry

GENESIS_HASH = "0" * 64
ALGORITHM = "sha256"
CANONICAL_FORM = (
    "sha256 of UTF-8 JSON, keys sorted, no spaces: event_type, payload_hash, prev_hash, recorded_at "
    "(UTC, ISO 8601 with microseconds), seq, source; and facts (the entry's facts as stored, a JSON text) when it "
    "has any"
)
# One encoder for every hash: `json.dumps` with options builds a new one per call, and a consumer hashes thousands.
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entry_hash(
    *,
    seq: int,
    recorded_at: datetime,
    source: str,
    event_type: str,
    payload_hash: str,
    prev_hash: str,
    facts: str | None = None,
) -> str:
    """The hash an entry must carry, computed from its fields (see CANONICAL_FORM)."""
    canonical: dict[str, Any] = {
        "event_type": event_type,
        "payload_hash": payload_hash,
        "prev_hash": prev_hash,
        "recorded_at": recorded_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "seq": seq,
        "source": source,
    }
    if facts is not None:
        canonical["facts"] = facts
    return sha256_hex(_CANONICAL_JSON.encode(canonical).encode())


def recompute(entry: LedgerEntry) -> str:
    return entry_hash(
        seq=entry.seq,
        recorded_at=entry.recorded_at,
        source=entry.source,
        event_type=entry.event_type,
        payload_hash=entry.payload_hash,
        prev_hash=entry.prev_hash,
        facts=entry.facts,
    )


@dataclass(frozen=True)
class PendingEntry:
    """An entry queued by the current transaction, chained and written when it commits."""

    source: str
    event_type: str
    payload_hash: str
    facts: str | None = None


class Link(Protocol):
    """The entry new ones are chained after: a row of the log."""

    @property
    def seq(self) -> int: ...
    @property
    def entry_hash(self) -> str: ...
    @property
    def recorded_at(self) -> datetime: ...


def chain(pending: Sequence[PendingEntry], *, after: Link | None, now: datetime) -> list[dict[str, Any]]:
    """The rows that append `pending` after the entry `after` (None: the log is empty), recorded at `now`.

    Never recorded before the entry they follow: a writer reads the clock before it waits for the log's lock,
    so a writer that waited may hold an earlier time than the one that went first.
    """
    seq, prev_hash = (after.seq, after.entry_hash) if after else (0, GENESIS_HASH)
    recorded_at = max(now, after.recorded_at) if after else now
    rows = []
    for item in pending:
        seq += 1
        fields: dict[str, Any] = {
            "source": item.source,
            "event_type": item.event_type,
            "payload_hash": item.payload_hash,
            "facts": item.facts,
            "seq": seq,
            "recorded_at": recorded_at,
            "prev_hash": prev_hash,
        }
        prev_hash = entry_hash(**fields)
        rows.append({**fields, "entry_hash": prev_hash})
    return rows


# What a broken link is: an entry slipped in before the first, a gap, an entry out of place, a replaced
# predecessor, changed content; against an exported head or an anchored one, a log cut short of it or a different
# entry there.
BreakKind = Literal[
    "inserted",
    "missing_entries",
    "reordered",
    "broken_link",
    "altered",
    "head_truncated",
    "head_mismatch",
    "anchor_truncated",
    "anchor_mismatch",
]


@dataclass(frozen=True)
class Break:
    """A broken link: where, and what kind."""

    seq: int
    kind: BreakKind
    detail: str


# The most breaks a verification lists (`break_count` counts them all).
MAX_LISTED_BREAKS = 100


# An exported head is one value, `<seq>:<entry_hash>`, so that a sequence never comes without its hash. At most
# 18 digits: every such number fits the log's BIGINT sequence; 0 is the head of the empty log.
HEAD_PATTERN = r"^(0|[1-9][0-9]{0,17}):[0-9a-f]{64}$"


def parse_head(written: str) -> tuple[int, str]:
    """An exported head written `<seq>:<entry_hash>`; ValueError if it is not one."""
    if re.fullmatch(HEAD_PATTERN, written) is None:
        raise ValueError("a head is written <seq>:<entry_hash> (64 lowercase hex digits)")
    seq, hash_ = written.split(":")
    return int(seq), hash_


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries_checked: int
    head_seq: int
    head_hash: str
    first_break: Break | None
    anchors_checked: int = 0
    breaks: list[Break] = field(default_factory=list)  # the first MAX_LISTED_BREAKS, in the log's order
    break_count: int = 0
    # Whether the role that verified cannot change the log (PostgreSQL: neither owns nor may update or delete it).
    protected: bool = False
    protection: str = ""


def head_break(expected_head: tuple[int, str] | None, last_seq: int, stored_hash: str | None) -> Break | None:
    """Compare with a head exported earlier: the tail must still reach it, with the same hash."""
    if expected_head is None:
        return None
    seq, hash_ = expected_head
    if seq == 0:  # exported from the empty log: the genesis hash, reached by any chain
        return None if hash_ == GENESIS_HASH else Break(0, "head_mismatch", "the empty log's head is the genesis hash")
    if seq > last_seq:
        return Break(last_seq + 1, "head_truncated", f"the log ends at {last_seq}, before the exported head {seq}")
    if stored_hash != hash_:
        return Break(seq, "head_mismatch", f"entry {seq} no longer has the exported hash")
    return None


def anchor_breaks(anchors: Iterable[tuple[int, str]], last_seq: int, hashes: dict[int, str]) -> list[Break]:
    """Compare with heads anchored outside the database, (seq, hash): the chain must still reach each one, with the
    anchored hash (`hashes`: the chain's hash at the anchored sequences). Every anchor that fails, lowest first."""
    found = []
    for seq, hash_ in sorted(set(anchors)):
        if seq > last_seq:
            detail = f"the log ends at {last_seq}, before the anchored head {seq}"
            found.append(Break(last_seq + 1, "anchor_truncated", detail))
        elif hashes.get(seq) != hash_:
            found.append(Break(seq, "anchor_mismatch", f"entry {seq} no longer has the anchored hash"))
    return found


def anchor_due(
    last: tuple[int, datetime] | None, head_seq: int, now: datetime, *, every: timedelta, entries: int
) -> bool:
    """Whether the head at `head_seq` is to be anchored now, the last anchor (sequence, when) being `last`: the log
    grew since, beyond that anchor's own entry, and `every` has passed or `entries` entries were appended."""
    if last is None:
        return head_seq > 0
    last_seq, anchored_at = last
    grown = head_seq - last_seq - 1  # the anchor's own entry (LedgerHeadAnchored, logged) follows the head it names
    # An anchor dated ahead of now was not made by this clock: it must not hold the next one back.
    return grown > 0 and (anchored_at > now or now - anchored_at >= every or grown >= entries)


def anchors_in(document: Any) -> list[tuple[int, str]]:
    """The anchored heads a JSON document holds: a handover package (its `anchors`), or a list of anchors or of
    `LedgerHeadAnchored` payloads (as read back from the topic), each with `seq` and `entry_hash`. ValueError if
    it is none of these."""
    items = document.get("anchors") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise ValueError("expected a handover package (with `anchors`) or a list of anchors")
    anchors = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict) or "seq" not in item or "entry_hash" not in item:
            raise ValueError(f"anchor {number}: expected an object with seq and entry_hash")
        try:
            anchors.append(parse_head(f"{item['seq']}:{item['entry_hash']}"))
        except ValueError as exc:
            raise ValueError(f"anchor {number}: {exc}") from None
    return anchors

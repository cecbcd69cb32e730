"""The tamper-evident log's chain: how an entry's hash is made, how entries are chained, what a break is.

entry_hash = sha256 over a canonical JSON of (seq, recorded_at, source, event_type, payload_hash, prev_hash).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from services.audit.models import LedgerEntry

GENESIS_HASH = "0" * 64
ALGORITHM = "sha256"
CANONICAL_FORM = (
    "sha256 of UTF-8 JSON, keys sorted, no spaces: event_type, payload_hash, prev_hash, recorded_at "
    "(UTC, ISO 8601 with microseconds), seq, source"
)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entry_hash(
    *, seq: int, recorded_at: datetime, source: str, event_type: str, payload_hash: str, prev_hash: str
) -> str:
    """The hash an entry must carry, computed from its fields (see CANONICAL_FORM)."""
    canonical = {
        "event_type": event_type,
        "payload_hash": payload_hash,
        "prev_hash": prev_hash,
        "recorded_at": recorded_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "seq": seq,
        "source": source,
    }
    return sha256_hex(json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())


def recompute(entry: LedgerEntry) -> str:
    return entry_hash(
        seq=entry.seq,
        recorded_at=entry.recorded_at,
        source=entry.source,
        event_type=entry.event_type,
        payload_hash=entry.payload_hash,
        prev_hash=entry.prev_hash,
    )


@dataclass(frozen=True)
class PendingEntry:
    """An entry queued by the current transaction, chained and written when it commits."""

    source: str
    event_type: str
    payload_hash: str


def chain(pending: Sequence[PendingEntry], *, after: LedgerEntry | None, now: datetime) -> list[dict[str, Any]]:
    """The rows that append `pending` after the entry `after` (None: the log is empty), recorded at `now`.

    Never recorded before the entry they follow: a writer reads the clock before it waits for the log's lock,
    so a writer that waited may hold an earlier time than the one that went first.
    """
    seq, prev_hash = (after.seq, after.entry_hash) if after else (0, GENESIS_HASH)
    recorded_at = max(now, after.recorded_at) if after else now
    rows = []
    for item in pending:
        seq += 1
        fields = {**asdict(item), "seq": seq, "recorded_at": recorded_at, "prev_hash": prev_hash}
        prev_hash = entry_hash(**fields)
        rows.append({**fields, "entry_hash": prev_hash})
    return rows


# What a broken link is: an entry slipped in before the first, a gap, an entry out of place, a replaced
# predecessor, changed content; or, against an exported head, a log cut short of it or a different entry there.
BreakKind = Literal[
    "inserted", "missing_entries", "reordered", "broken_link", "altered", "head_truncated", "head_mismatch"
]


@dataclass(frozen=True)
class Break:
    """The first broken link: where, and what kind."""

    seq: int
    kind: BreakKind
    detail: str


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

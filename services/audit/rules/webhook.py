"""The signed webhook that carries notifications to the government messaging system: the body, its signature, what
an answer means, and when to try again.

A receiver verifies a delivery by computing `HMAC-SHA256(secret, f"{t}.{raw body}")` over the bytes it received
and comparing it with `v1` of `X-Poverty-Signature: t=<unix seconds>,v1=<hex>` (in constant time), refusing a `t`
too far from its clock (a replay). Delivery is at least once: the same notification may arrive twice (a lease
that ran out mid-call, an answer lost), so the receiver dedupes by `X-Poverty-Delivery`, the notification's id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

SIGNATURE_HEADER = "X-Poverty-Signature"
DELIVERY_HEADER = "X-Poverty-Delivery"
ERROR_TEXT_CHARS = 200  # of a refusing answer, kept in `last_error`
MAX_RETRY_DELAY = timedelta(hours=1)
# How long past the call's own timeout a claimed notification stays out of other replicas' reach: enough to record
# the outcome. A replica that dies mid-call leaves it to be claimed again once the lease runs out.
LEASE_MARGIN = timedelta(minutes=1)


@dataclass(frozen=True)
class Delivery:
    """What is posted for one notification: its id and the fields the messaging system shows."""

    id: UUID
    person_id: str
    kind: str
    finding_id: UUID | None
    task_id: UUID | None
    title: str
    body: str
    created_at: datetime

    def payload(self) -> bytes:
        """The JSON body, as posted and signed (UTF-8, Chinese kept as is)."""
        document: dict[str, Any] = {
            "id": str(self.id),
            "person_id": self.person_id,
            "kind": self.kind,
            "finding_id": str(self.finding_id) if self.finding_id else None,
            "task_id": str(self.task_id) if self.task_id else None,
            "title": self.title,
            "body": self.body,
            "created_at": self.created_at.isoformat(),
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """The `X-Poverty-Signature` header's value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t." + body>`."""
    digest = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def headers(delivery: Delivery, body: bytes, *, secret: bytes, at: datetime) -> dict[str, str]:
    """The headers of a delivery's request, signed at `at`."""
    return {
        "Content-Type": "application/json; charset=utf-8",
        SIGNATURE_HEADER: signature(secret, int(at.timestamp()), body),
        DELIVERY_HEADER: str(delivery.id),
    }


def is_delivered(status_code: int) -> bool:
    """Any 2xx is delivered; anything else is a failure to retry."""
    return 200 <= status_code < 300


def refusal(status_code: int, text: str) -> str:
    """What `last_error` says of an answer that was not 2xx: its status and the start of its body, each character
    that is not printable (a NUL, which PostgreSQL text cannot hold; a line break) shown as U+FFFD."""
    shown = "".join(c if c.isprintable() else "\ufffd" for c in text[:ERROR_TEXT_CHARS])
    return f"HTTP {status_code}: {shown}"


def retry_delay(attempts: int, first: timedelta) -> timedelta:
    """How long after its `attempts`-th failed attempt a notification is tried again: `first`, doubling, at most an
    hour."""
    if attempts < 1:
        raise ValueError("a retry follows at least one attempt")
    return min(first * (1 << min(attempts - 1, 20)), MAX_RETRY_DELAY)


def lease(timeout: timedelta) -> timedelta:
    """How far a claim pushes a notification's next attempt: past the call's timeout and the outcome's recording."""
    return timeout + LEASE_MARGIN

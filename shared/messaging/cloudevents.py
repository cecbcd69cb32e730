"""CloudEvents 1.0 in Kafka binary mode: attributes in `ce_*` headers, the JSON payload as the value."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"


class MalformedEvent(ValueError):
    """A Kafka record that is not a CloudEvent we can read."""


@dataclass(frozen=True)
class Envelope:
    """One CloudEvent: attributes plus the raw JSON payload."""

    id: str
    type: str
    source: str
    subject: str
    time: datetime
    data: bytes
    traceparent: str | None = None
    extra_headers: tuple[tuple[str, bytes], ...] = field(default=())

    def to_headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers for binary-mode CloudEvents."""
        return binary_headers(self.id, self.type, self.source, self.subject, self.time, self.traceparent)

    @classmethod
    def from_record(
        cls, headers: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...], value: bytes | None
    ) -> Envelope:
        """Read a Kafka record; MalformedEvent (and nothing else) when it is not a CloudEvent we can read."""
        # Kafka allows a header without a value (None): such a header counts as absent, never as an attribute.
        attrs = {k: v for k, v in headers if isinstance(v, bytes)}
        try:
            if attrs.get("ce_specversion") != SPECVERSION.encode():
                raise MalformedEvent("missing or unsupported ce_specversion")
            if value is None:
                raise MalformedEvent("record has no payload")
            return cls(
                id=_required(attrs, "ce_id"),
                type=_required(attrs, "ce_type"),
                source=_required(attrs, "ce_source"),
                subject=attrs.get("ce_subject", b"").decode(),
                time=datetime.fromisoformat(_required(attrs, "ce_time")),
                data=value,
                traceparent=attrs["traceparent"].decode() if "traceparent" in attrs else None,
            )
        except (UnicodeDecodeError, ValueError) as exc:
            if isinstance(exc, MalformedEvent):
                raise
            raise MalformedEvent(f"unreadable CloudEvents attribute: {type(exc).__name__}") from exc


_SPECVERSION_HEADER = ("ce_specversion", SPECVERSION.encode())
_CONTENT_TYPE_HEADER = ("content-type", CONTENT_TYPE.encode())


def binary_headers(
    id: str, type: str, source: str, subject: str, time: datetime, traceparent: str | None
) -> list[tuple[str, bytes]]:
    """The Kafka headers of a binary-mode CloudEvent with these attributes (the relay builds them straight from outbox
    rows: an `Envelope` a row would cost the relay's hot path its construction)."""
    headers = [
        _SPECVERSION_HEADER,
        ("ce_id", id.encode()),
        ("ce_type", type.encode()),
        ("ce_source", source.encode()),
        ("ce_subject", subject.encode()),
        ("ce_time", time.isoformat().encode()),
        _CONTENT_TYPE_HEADER,
    ]
    if traceparent:
        headers.append(("traceparent", traceparent.encode()))
    return headers


def _required(attrs: dict[str, bytes], name: str) -> str:
    raw = attrs.get(name)
    if not raw:
        raise MalformedEvent(f"missing {name}")
    return raw.decode()

"""Counting what the consumer did with each record, as `poverty_events_consumed_total{topic,event_type,outcome}`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from aiokafka import ConsumerRecord

from shared.contracts import contract_for
from shared.metrics import EVENTS_CONSUMED

UNKNOWN_TYPE = "unknown"  # the event type label of a record that names none we know


def count(outcome: str, record: ConsumerRecord[bytes, bytes]) -> str:
    """Count one record's outcome, and return it."""
    EVENTS_CONSUMED.labels(record.topic, _event_type(record), outcome).inc()
    return outcome


def count_batch(topic: str, event_types: Iterable[str], outcomes: list[str]) -> list[str]:
    """Count a batch's outcomes, one increment per event type and outcome, and return them."""
    counts = Counter(zip((known_type(event_type) for event_type in event_types), outcomes, strict=True))
    for (event_type, outcome), times in counts.items():
        EVENTS_CONSUMED.labels(topic, event_type, outcome).inc(times)
    return outcomes


def count_unreadable(topic: str) -> None:
    """Count a record that could be neither read nor quarantined (it has no event type to tell)."""
    EVENTS_CONSUMED.labels(topic, UNKNOWN_TYPE, "failed").inc()


def known_type(event_type: str) -> str:
    """The event type as a metric label: a known type, or `unknown` (a poison record's header could name anything,
    and every distinct label value is a new time series)."""
    return event_type if contract_for(event_type) is not None else UNKNOWN_TYPE


def _event_type(record: ConsumerRecord[bytes, bytes]) -> str:
    named = dict(record.headers).get("ce_type")
    try:
        event_type = named.decode() if isinstance(named, bytes) else ""
    except UnicodeDecodeError:
        return UNKNOWN_TYPE
    return known_type(event_type)

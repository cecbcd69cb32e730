"""Prometheus metrics shared by every service (one worker per pod, so no multiprocess mode)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

OUTBOX_PUBLISHED = Counter("outbox_published_total", "Outbox rows published to Kafka")
EVENTS_CONSUMED = Counter("events_consumed_total", "Events handled by consumers", ["consumer", "outcome"])
EVENT_HANDLING_SECONDS = Histogram("event_handling_seconds", "Time to apply one event", ["consumer"])
MESSAGING_ROWS_PURGED = Counter("messaging_rows_purged_total", "Outbox and inbox rows deleted by retention", ["table"])

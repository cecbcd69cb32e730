"""What a notification (提醒) tells its person, and where its delivery stands."""

from __future__ import annotations

from enum import StrEnum


class NotificationKind(StrEnum):
    ASSIGNED = "assigned"  # a finding was given to the person (on opening, or handed over)
    DUE_SOON = "due_soon"  # a rectification's deadline is near
    OVERDUE = "overdue"  # a rectification's deadline passed
    REOPENED = "reopened"  # a follow-up check (回头看) failed the rectification
    REFERRED = "referred"  # the finding was handed to the discipline commission


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    DELIVERED = "delivered"  # the messaging system answered 2xx
    DEAD = "dead"  # every attempt failed: listed for an operator to look into and deliver again
    NOT_SENT = "not_sent"  # no messaging system configured: inbox only

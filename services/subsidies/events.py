"""Publishing the subsidies' events: every state change writes its event to the outbox, in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import IntegrationEvent
from shared.messaging.outbox import outbox_row, record_event

SOURCE = "/services/subsidies"


def publish(session: AsyncSession, event: IntegrationEvent) -> None:
    """Add `event` to the outbox; it leaves only if the caller's transaction commits."""
    record_event(session, event, source=SOURCE)


def outbox_rows(events: Iterable[IntegrationEvent], *, now: datetime) -> list[dict[str, Any]]:
    """The outbox rows publishing `events`, occurred at `now`, for a bulk writer that inserts them itself in the
    transaction of the changes they announce (a bank result's thousands of payments)."""
    return [dict(outbox_row(event, source=SOURCE, now=now)) for event in events]

"""Every change made in audit is an event in the outbox and an entry in the tamper-evident log, together."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.audit import ledger
from shared.contracts import IntegrationEvent
from shared.messaging.outbox import record_event

SOURCE = "/services/audit"


def change_name(event: IntegrationEvent) -> str:
    """The change an event records: `gov.poverty.audit.finding_recorded.v1` -> `finding_recorded`."""
    return event.event_type.split(".")[3]


def emit(session: AsyncSession, event: IntegrationEvent) -> None:
    """Publish `event` through the outbox and log it as `audit:<change>/<event id>`, in the caller's transaction."""
    row = record_event(session, event, source=SOURCE)
    ledger.append(
        session,
        source=f"audit:{change_name(event)}/{row['event_id']}",
        event_type=event.event_type,
        payload=row["payload"].encode(),
    )

"""Publishing the projects' events: every state change writes its event to the outbox, in the same transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import IntegrationEvent
from shared.messaging.outbox import record_event

SOURCE = "/services/projects"


def publish(session: AsyncSession, event: IntegrationEvent) -> None:
    """Add `event` to the outbox; it leaves only if the caller's transaction commits."""
    record_event(session, event, source=SOURCE)

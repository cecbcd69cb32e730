"""Every change made in audit is an event in the outbox and an entry in the tamper-evident log, together;
every event audit receives from the other services is logged too, in the transaction that applies it."""

from __future__ import annotations

from sqlalchemy import event as orm_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from services.audit.domain import ledger, notifications
from services.audit.rules.ledger_state import facts_of, to_text
from shared.contracts import IntegrationEvent
from shared.messaging.cloudevents import Envelope
from shared.messaging.outbox import record_event
from shared.timeutil import utcnow

SOURCE = "/services/audit"


def change_name(event: IntegrationEvent) -> str:
    """The change an event records: `gov.poverty.audit.finding_recorded.v1` -> `finding_recorded`."""
    return event.event_type.split(".")[3]


def publish(session: AsyncSession, event: IntegrationEvent) -> None:
    """Publish `event` through the outbox and log it as `audit:<change>/<event id>`, with the state it leaves its
    finding, task or referral in, in the caller's transaction."""
    row = record_event(session, event, source=SOURCE)
    ledger.append(
        session,
        source=f"audit:{change_name(event)}/{row['event_id']}",
        event_type=event.event_type,
        payload=row["payload"].encode(),
        facts=to_text(facts_of(event)),
    )


def log_received(session: AsyncSession, envelope: Envelope, topic: str) -> None:
    """Log an event of another service's topic as `<topic>/<event id>`, in the transaction that applies it."""
    ledger.append(session, source=f"{topic}/{envelope.id}", event_type=envelope.type, payload=envelope.data)


@orm_event.listens_for(Session, "before_commit")
def _write_queued_before_commit(session: Session) -> None:
    # The commit is the log's edge: its entries are recorded at the time of the commit that writes them. The
    # notifications go first: the log's lock is taken last, by a transaction that then waits for no row.
    if not session.in_nested_transaction():  # a released savepoint's rows wait for the real commit
        notifications.write_queued(session)
        ledger.write_pending(session, now=utcnow())

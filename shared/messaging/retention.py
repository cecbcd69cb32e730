"""Retention of the messaging tables: without it the outbox and the inbox grow with every event, forever.

A published outbox row is kept `outbox` long (for an operator tracing an event), then deleted; an
unpublished one is never deleted. An inbox row is what makes a redelivered event a no-op, so it must
outlive every way an applied event can come back: a redelivery after a crash (seconds later), an offset
reset to the start of a topic, or a dead letter replayed to its source topic, which every consumer of that
topic reads again. Kafka deletes a log segment once its newest record is older than `retention.ms`, so a
record lives up to `retention.ms` plus one segment's span (`segment.ms`, set on every topic): 8 days on a
service topic, 31 on a dead-letter topic. The worst case: a consumer that lags a topic's whole life (8 days)
dead-letters an event the other consumers applied when it was published; it is replayed up to 31 days later,
and that record is read up to 8 days after. The inbox therefore keeps at least `MIN_INBOX_RETENTION` (47
days), 60 by default.

Deletes go in batches, one short transaction each; on PostgreSQL the rows are claimed with
`FOR UPDATE SKIP LOCKED`, so replicas purging at the same moment neither wait for nor deadlock with
each other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from shared.api.idempotent_requests import IdempotentRequest
from shared.messaging.inbox import InboxEntry
from shared.messaging.outbox import OutboxMessage
from shared.metrics import MESSAGING_ROWS_PURGED
from shared.timeutil import utcnow

log = logging.getLogger(__name__)
# retention.ms of the service topics and of their dead-letter topics, and segment.ms of both
# (deploy/k8s/base/kafka/topics.yaml)
TOPIC_RETENTION = timedelta(days=7)
DEAD_LETTER_RETENTION = timedelta(days=30)
SEGMENT_SPAN = timedelta(days=1)
TOPIC_LIFE = TOPIC_RETENTION + SEGMENT_SPAN  # the longest a record stays readable on a service topic
MIN_INBOX_RETENTION = TOPIC_LIFE + DEAD_LETTER_RETENTION + SEGMENT_SPAN + TOPIC_LIFE
FIRST_PURGE_DELAY_S = 60.0  # after start-up, when the service is no longer busy starting


@dataclass(frozen=True)
class RetentionPolicy:
    """How long published outbox rows and inbox rows are kept, and how many rows one transaction deletes."""

    outbox: timedelta
    inbox: timedelta
    batch_size: int = 5000
    idempotency_keys: timedelta = timedelta(days=7)

    def __post_init__(self) -> None:
        if self.inbox < MIN_INBOX_RETENTION:
            raise ValueError(
                f"the inbox must be kept at least {MIN_INBOX_RETENTION.days} days: longer than events can come back"
            )


@dataclass(frozen=True)
class PurgeRun:
    """What one purge deleted."""

    outbox_rows: int
    inbox_rows: int
    idempotency_rows: int = 0


async def purge_expired(engine: AsyncEngine, policy: RetentionPolicy, *, now: datetime) -> PurgeRun:
    """Delete published outbox rows, inbox rows and idempotency keys older than the policy keeps them."""
    outbox_key = (col(OutboxMessage.id),)
    outbox = await _purge(engine, outbox_key, col(OutboxMessage.published_at) < now - policy.outbox, policy.batch_size)
    inbox_key = (col(InboxEntry.consumer), col(InboxEntry.event_id))
    inbox = await _purge(engine, inbox_key, col(InboxEntry.processed_at) < now - policy.inbox, policy.batch_size)
    keys = (col(IdempotentRequest.caller), col(IdempotentRequest.operation), col(IdempotentRequest.key))
    expired_keys = col(IdempotentRequest.created_at) < now - policy.idempotency_keys
    idempotency = await _purge(engine, keys, expired_keys, policy.batch_size)
    MESSAGING_ROWS_PURGED.labels("outbox").inc(outbox)
    MESSAGING_ROWS_PURGED.labels("inbox").inc(inbox)
    MESSAGING_ROWS_PURGED.labels("idempotent_request").inc(idempotency)
    return PurgeRun(outbox, inbox, idempotency)


async def _purge(engine: AsyncEngine, key: tuple[Any, ...], expired: ColumnElement[bool], batch: int) -> int:
    doomed = select(*key).where(expired).limit(batch).with_for_update(skip_locked=True)
    purge = delete(key[0].table).where(tuple_(*key).in_(doomed))
    deleted = 0
    while True:
        async with engine.begin() as conn:
            count = (await conn.execute(purge)).rowcount
        deleted += count
        if count < batch:
            return deleted


async def purge_periodically(
    engine: AsyncEngine, policy: RetentionPolicy, interval_s: float, clock: Callable[[], datetime] = utcnow
) -> None:
    """The background loop: purge a minute after start-up (a service restarted more often than every
    `interval_s` still purges), then every `interval_s` seconds, until cancelled."""
    delay = min(FIRST_PURGE_DELAY_S, interval_s)
    while True:
        await asyncio.sleep(delay)
        delay = interval_s
        try:
            run = await purge_expired(engine, policy, now=clock())
            if run.outbox_rows or run.inbox_rows or run.idempotency_rows:
                log.info("messaging tables purged", extra=asdict(run))
        except Exception:  # a database outage must not end the loop; cancellation still does
            log.exception("purging the messaging tables failed; retrying at the next interval")

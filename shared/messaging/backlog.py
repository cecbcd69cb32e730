"""The outbox's backlog as metrics: how many rows wait to be published, and how long the oldest has waited.

Every pod of a service samples its database every `SAMPLE_INTERVAL_S` (so replicas report the same numbers: alert on
their maximum). A growing backlog with an old oldest row means events are not leaving: the brokers are unreachable,
no relay holds the lock, or publishing fails. Both queries read the index `ix_outbox_unpublished`
(published_at, id), never the published rows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.messaging.outbox import OUTBOX
from shared.metrics import OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE
from shared.timeutil import utcnow

log = logging.getLogger(__name__)
SAMPLE_INTERVAL_S = 10.0
SAMPLE_TIMEOUT_S = 5.0

_UNPUBLISHED = OUTBOX.c.published_at.is_(None)
UNPUBLISHED_ROWS = select(func.count()).select_from(OUTBOX).where(_UNPUBLISHED)
OLDEST_UNPUBLISHED = select(OUTBOX.c.occurred_at).where(_UNPUBLISHED).order_by(OUTBOX.c.id).limit(1)


@dataclass(frozen=True)
class Backlog:
    """Unpublished outbox rows, and the age of the oldest of them (by its event's time; 0 when there is none)."""

    rows: int
    oldest_age_s: float


async def outbox_backlog(engine: AsyncEngine, *, now: datetime) -> Backlog:
    """The outbox's backlog now."""
    async with engine.connect() as conn:
        rows = int(await conn.scalar(UNPUBLISHED_ROWS) or 0)
        oldest: datetime | None = await conn.scalar(OLDEST_UNPUBLISHED) if rows else None
    return Backlog(rows, max((now - oldest).total_seconds(), 0.0) if oldest else 0.0)


async def sample_outbox(engine: AsyncEngine, clock: Callable[[], datetime] = utcnow) -> None:
    """Keep `poverty_outbox_backlog` and `poverty_outbox_oldest_unpublished_age_seconds` current until cancelled. A
    sample that fails (the database away) leaves the last values; readiness reports the database."""
    while True:
        try:
            async with asyncio.timeout(SAMPLE_TIMEOUT_S):  # not wait_for, which on 3.11 can lose a cancellation
                backlog = await outbox_backlog(engine, now=clock())
        except Exception as exc:
            log.warning("could not sample the outbox backlog", extra={"error_type": type(exc).__name__})
        else:
            OUTBOX_BACKLOG.set(backlog.rows)
            OUTBOX_OLDEST_AGE.set(backlog.oldest_age_s)
        await asyncio.sleep(SAMPLE_INTERVAL_S)

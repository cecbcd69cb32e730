"""The log's head anchored outside its database: published at intervals as `LedgerHeadAnchored` (through the
outbox, for the discipline commission's consumer) and kept in `ledger_anchor` (append-only; the service's role may
only insert and read it, and only the anchor of an entry of the log above every earlier anchor, dated now: a
trigger of migration 0012). A log cut short of an anchor, or rewritten below one with every hash recomputed, no longer
reaches it (`ledger.verify`).

`anchor_head` is a use case taking `now`; `ledger_anchoring` is the worker that runs it every
`overdue_scan_interval_s`, anchoring when `ledger_anchor_interval_s` has passed or `ledger_anchor_entries` entries
were appended since the last anchor. Several replicas may run it: one at a time anchors (a transaction-level
advisory lock on PostgreSQL; the others skip the run).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.audit.domain.ledger import head
from services.audit.events import publish
from services.audit.models import LedgerAnchor
from services.audit.rules.ledger import anchor_due
from services.audit.settings import AuditSettings
from shared.contracts.audit import LedgerHeadAnchored
from shared.db import unit_of_work
from shared.ids import uuid7
from shared.metrics import SCHEDULED_CHECK_RUNS
from shared.periodic import every
from shared.service import ServiceRuntime, Worker

log = logging.getLogger(__name__)
CHECK = "ledger_anchor"  # its name in `poverty_scheduled_check_runs_total`
ANCHOR_LOCK_KEY = 0x1ED6_A9C0  # distinct from the log's and the outbox relay's locks


async def _claim(session: AsyncSession) -> bool:
    """Whether this transaction may anchor: one replica at a time (SQLite: one process)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    claimed = await session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": ANCHOR_LOCK_KEY})
    return bool(claimed)


async def latest_anchor(session: AsyncSession) -> LedgerAnchor | None:
    stmt = select(LedgerAnchor).order_by(col(LedgerAnchor.seq).desc()).limit(1)
    return (await session.scalars(stmt)).first()


async def anchor_head(session: AsyncSession, *, now: datetime, every: timedelta, entries: int) -> LedgerAnchor | None:
    """Anchor the log's head if due: keep it and publish it, in the caller's transaction."""
    if not await _claim(session):
        return None
    last, newest = await latest_anchor(session), await head(session)
    if newest is None or not anchor_due(
        (last.seq, last.anchored_at) if last else None, newest.seq, now, every=every, entries=entries
    ):
        return None
    anchor = LedgerAnchor(
        seq=newest.seq,
        entry_hash=newest.entry_hash,
        recorded_at=newest.recorded_at,
        anchored_at=now,
        anchor_id=uuid7(),
    )
    session.add(anchor)
    await session.flush()
    await session.refresh(anchor, ["anchored_at"])  # PostgreSQL dates an anchor by its own clock (migration 0012)
    publish(
        session,
        LedgerHeadAnchored(
            anchor_id=anchor.anchor_id,
            seq=anchor.seq,
            entry_hash=anchor.entry_hash,
            recorded_at=anchor.recorded_at,
            anchored_at=anchor.anchored_at,
        ),
    )
    return anchor


async def anchors_between(
    session: AsyncSession, starts_at: datetime, ends_at: datetime, *, at_most: int
) -> list[LedgerAnchor]:
    """The newest `at_most` anchors made in [starts_at, ends_at), oldest first."""
    stmt = (
        select(LedgerAnchor)
        .where(col(LedgerAnchor.anchored_at) >= starts_at, col(LedgerAnchor.anchored_at) < ends_at)
        .order_by(col(LedgerAnchor.seq).desc())
        .limit(at_most)
    )
    return list(reversed((await session.scalars(stmt)).all()))


async def run_anchoring(
    sessions: async_sessionmaker[AsyncSession], settings: AuditSettings, *, now: datetime
) -> LedgerAnchor | None:
    """One run, counted in `poverty_scheduled_check_runs_total{check="ledger_anchor"}` (`failed` when it raised)."""
    every = timedelta(seconds=settings.ledger_anchor_interval_s)
    try:
        async with unit_of_work(sessions) as session:
            anchor = await anchor_head(session, now=now, every=every, entries=settings.ledger_anchor_entries)
    except Exception:
        SCHEDULED_CHECK_RUNS.labels(CHECK, "failed").inc()
        raise
    SCHEDULED_CHECK_RUNS.labels(CHECK, "ok").inc()
    return anchor


def ledger_anchoring(settings: AuditSettings, clock: Callable[[], datetime]) -> Worker:
    """The background worker: a run every `overdue_scan_interval_s` seconds for the service's life.

    The worker is an edge: it reads `clock` (the wall clock, given by the app) once a run and passes it down.
    """

    async def run_ledger_anchoring(runtime: ServiceRuntime) -> None:
        anchor = await run_anchoring(runtime.sessions, settings, now=clock())
        if anchor is not None:
            log.info("ledger head anchored", extra={"seq": anchor.seq})

    return every(settings.overdue_scan_interval_s, run_ledger_anchoring, what="anchoring the ledger's head")

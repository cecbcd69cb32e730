"""Applying events in database transactions: the inbox claim and the handlers in one transaction, retried.

Infrastructure failures (database or network down) are retried without limit, with backoff; a handler that keeps
failing is tried `max_attempts` times in all and then its record is dead-lettered. A batch that fails for a reason
other than the infrastructure is rolled back and its records applied one per transaction, which isolates the poison
record and applies the rest.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import AbstractContextManager, nullcontext
from typing import NamedTuple

from aiokafka import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import unit_of_work
from shared.failures import is_transient
from shared.messaging import inbox
from shared.messaging.cloudevents import Envelope
from shared.messaging.consumed import count, count_batch
from shared.messaging.dead_letters import DeadLetters
from shared.messaging.failure_facts import log_facts
from shared.messaging.handlers import Application, HandlerRegistry
from shared.messaging.relay import Backoff
from shared.metrics import EVENT_HANDLING_SECONDS
from shared.tracing import consuming, consuming_batch, mark_failed

log = logging.getLogger(__name__)


class Work(NamedTuple):  # a tuple: one per event, built at a third of a frozen dataclass's cost
    """A decoded record and the work its event asks for."""

    record: ConsumerRecord[bytes, bytes]
    envelope: Envelope
    application: Application


class Applier:
    """Applies one partition's work, a batch per transaction, through the consumer's inbox."""

    def __init__(
        self,
        *,
        name: str,
        handlers: HandlerRegistry,
        sessions: async_sessionmaker[AsyncSession],
        dead_letters: DeadLetters,
        max_attempts: int,
        backoff_s: float,
    ) -> None:
        self._name, self._handlers, self._sessions, self._dead_letters = name, handlers, sessions, dead_letters
        self._max_attempts, self._backoff_s = max_attempts, backoff_s

    async def apply_batch(self, batch: list[Work]) -> list[str]:
        """Apply `batch` (one partition's, in offset order); returns each event's outcome."""
        if len(batch) == 1:
            return [await self._apply(batch[0])]
        backoff = Backoff(self._backoff_s)
        while True:
            claimed: list[bool] = []
            # The batch's span (linked to each event's trace) holds the attempt and the lines about its failure.
            with consuming_batch(batch[0].record.topic, [work.envelope for work in batch], consumer=self._name) as span:
                try:
                    await self._transact(batch, claimed)
                    outcomes = ["applied" if fresh else "duplicate" for fresh in claimed]
                    return count_batch(batch[0].record.topic, (work.envelope.type for work in batch), outcomes)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    mark_failed(span, exc)
                    transient = is_transient(exc)
                    facts = {"consumer": self._name, **_batch_facts(batch), **log_facts(exc)}
                    if transient:
                        log.warning("event batch failed; retrying", extra=facts)
                    else:
                        log.info("event batch failed; applying it one event per transaction", extra=facts)
            if not transient:
                return await self._apply_one_by_one(batch, failing=len(claimed))
            for work in batch:
                count("retried", work.record)
            await backoff.sleep()

    async def _apply_one_by_one(self, batch: list[Work], *, failing: int) -> list[str]:
        """Replay a failed batch one record per transaction; the record that failed (none if the commit did)
        has spent one of its attempts already."""
        if failing < len(batch):
            count("retried", batch[failing].record)
        return [await self._apply(work, spent=int(n == failing)) for n, work in enumerate(batch)]

    async def _apply(self, work: Work, *, spent: int = 0) -> str:
        attempts = spent
        backoff = Backoff(self._backoff_s)
        while True:
            claimed: list[bool] = []
            # Each attempt in the event's CONSUMER span, which also holds the lines about its failure and the
            # dead-lettering: they carry the event's trace.
            with consuming(work.record, work.envelope, consumer=self._name) as span:
                try:
                    await self._transact([work], claimed)
                    return count("applied" if claimed[0] else "duplicate", work.record)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    mark_failed(span, exc)
                    if not is_transient(exc):
                        attempts += 1
                        if attempts >= self._max_attempts:
                            return await self._dead_letters.send(work.record, exc, attempts=attempts)
                    log.warning(
                        "event handling failed; retrying",
                        extra={
                            "consumer": self._name,
                            "event_id": work.envelope.id,
                            "event_type": work.envelope.type,
                            "attempt": attempts,
                            "transient": is_transient(exc),
                            **log_facts(exc),
                        },
                    )
            count("retried", work.record)
            await backoff.sleep()

    async def _transact(self, batch: list[Work], claimed: list[bool]) -> None:
        started = time.perf_counter()
        async with unit_of_work(self._sessions) as session:  # in the span `_apply` or `apply_batch` opened
            await self._claim_and_apply(session, batch, claimed)
        # Each event's handling time is its share of the transaction that applied it.
        share = (time.perf_counter() - started) / len(batch)
        handling = EVENT_HANDLING_SECONDS.labels(batch[0].record.topic)  # a batch is one partition's
        for _ in batch:
            handling.observe(share)

    async def _claim_and_apply(self, session: AsyncSession, batch: list[Work], claimed: list[bool]) -> None:
        """Claim the batch's events in the inbox, then apply the fresh ones in order; `claimed` grows as
        they are done, so on a failure its length is the index of the record that failed."""
        fresh = await inbox.claim(
            session, consumer=self._name, events=[(w.envelope.id, w.envelope.type) for w in batch]
        )
        await self._handlers.prepare_all(session, [w.application for w in batch if w.envelope.id in fresh])
        for work in batch:
            is_fresh = work.envelope.id in fresh
            if is_fresh:
                fresh.discard(work.envelope.id)  # the same event twice in a batch is applied once
                with self._event_span(work, batch):
                    await work.application(session)
            claimed.append(is_fresh)

    def _event_span(self, work: Work, batch: list[Work]) -> AbstractContextManager[object]:
        """Tracing: one event's transaction runs in its CONSUMER span (`_apply`), in the trace the record carries; a
        batch's in a span linked to each event's trace (`apply_batch`), each event's handling then in its own."""
        return nullcontext() if len(batch) == 1 else consuming(work.record, work.envelope, consumer=self._name)


def _batch_facts(batch: list[Work]) -> dict[str, object]:
    first, last = batch[0].record, batch[-1].record
    return {
        "topic": first.topic,
        "partition": first.partition,
        "offset": first.offset,
        "last_offset": last.offset,
        "events": len(batch),
    }

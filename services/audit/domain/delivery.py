"""Delivery of notifications to the government messaging system by a signed webhook, driven from the table.

A round claims the due pending notifications (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so each replica takes its
own), counts the attempt and pushes `next_attempt_at` out by a lease, and commits; then posts them, holding no
transaction; then records each outcome: 2xx delivered; anything else retried with backoff, dead after the last
attempt. A replica that dies between the claim and the outcome leaves the notification to be claimed again when
the lease runs out: none is lost, and one may arrive twice (at least once; the receiver dedupes by
`X-Poverty-Delivery`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.audit.domain.notifications import deliver_by_webhook
from services.audit.models import Notification
from services.audit.rules.notifications import DeliveryStatus
from services.audit.rules.webhook import Delivery, headers, is_delivered, lease, refusal, retry_delay
from services.audit.settings import AuditSettings
from shared.db import unit_of_work
from shared.metrics import NOTIFICATION_DELIVERIES, count_on_commit
from shared.service import ServiceRuntime, Worker

log = logging.getLogger(__name__)
_ANSWER_BYTES = 1024  # of a refusing answer: what `last_error` quotes, never the whole of a large one


@dataclass(frozen=True)
class Claim:
    """A notification claimed for one attempt, the `attempt`-th."""

    delivery: Delivery
    attempt: int


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: delivered, or the error (`last_error`)."""

    delivered: bool
    error: str | None = None


async def claim_due(session: AsyncSession, *, now: datetime, lease_for: timedelta, limit: int) -> list[Claim]:
    """Claim the pending notifications due at `now`, soonest first: each attempt counted and leased until
    `now + lease_for`; rows another replica holds are skipped, never waited for."""
    stmt = (
        select(Notification)
        .where(
            col(Notification.delivery_status) == DeliveryStatus.PENDING,
            col(Notification.next_attempt_at) <= now,
        )
        .order_by(col(Notification.next_attempt_at), col(Notification.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claims = []
    for row in (await session.scalars(stmt)).all():
        row.attempts += 1
        row.next_attempt_at = now + lease_for
        delivery = Delivery(
            row.id, row.person_id, row.kind, row.finding_id, row.task_id, row.title, row.body, row.created_at
        )
        claims.append(Claim(delivery, row.attempts))
    return claims


async def record_outcome(
    session: AsyncSession, claim: Claim, outcome: Outcome, *, now: datetime, max_attempts: int, backoff: timedelta
) -> None:
    """Record an attempt's outcome. A delivery is a delivery whoever claimed it last; a failure counts only for the
    latest claim (one made after this claim's lease ran out decides what happens next)."""
    row = await session.get(Notification, claim.delivery.id, with_for_update=True, populate_existing=True)
    if row is None or row.delivery_status == DeliveryStatus.DELIVERED:
        return
    if outcome.delivered:
        row.delivery_status, row.delivered_at, row.next_attempt_at = DeliveryStatus.DELIVERED, now, None
        count_on_commit(session, NOTIFICATION_DELIVERIES.labels("delivered"))
        return
    if row.delivery_status != DeliveryStatus.PENDING or row.attempts != claim.attempt:
        return
    row.last_error = (outcome.error or "failed")[:500]
    if row.attempts >= max_attempts:
        row.delivery_status, row.next_attempt_at = DeliveryStatus.DEAD, None
        count_on_commit(session, NOTIFICATION_DELIVERIES.labels("dead"))
    else:
        row.next_attempt_at = now + retry_delay(row.attempts, backoff)
        count_on_commit(session, NOTIFICATION_DELIVERIES.labels("failed"))


async def post(client: httpx.AsyncClient, settings: AuditSettings, delivery: Delivery, *, at: datetime) -> Outcome:
    """One attempt: the signed POST, bounded as a whole by `webhook_timeout_s`. Any failure is an outcome, never
    raised: a non-2xx answer (its status and start), a timeout, a connection error (its kind)."""
    body = delivery.payload()
    assert settings.webhook_secret is not None  # the settings refuse a webhook_url without one
    secret = settings.webhook_secret.get_secret_value().encode()
    try:
        async with asyncio.timeout(settings.webhook_timeout_s):
            request = client.build_request(
                "POST", str(settings.webhook_url), content=body, headers=headers(delivery, body, secret=secret, at=at)
            )
            response = await client.send(request, stream=True)
            try:
                if is_delivered(response.status_code):
                    return Outcome(delivered=True)
                answer = b""
                async for chunk in response.aiter_bytes():
                    answer += chunk
                    if len(answer) >= _ANSWER_BYTES:
                        break
                return Outcome(delivered=False, error=refusal(response.status_code, answer.decode(errors="replace")))
            finally:
                await response.aclose()
    except TimeoutError:
        return Outcome(delivered=False, error=f"timeout after {settings.webhook_timeout_s:g} s")
    except Exception as exc:  # any failure of the call is the attempt's outcome; cancellation still ends it
        return Outcome(delivered=False, error=type(exc).__name__)


async def deliver_due(
    sessions: async_sessionmaker[AsyncSession],
    settings: AuditSettings,
    client: httpx.AsyncClient,
    *,
    clock: Callable[[], datetime],
) -> int:
    """One round: claim (committed), post every claim at once (no transaction open), record the outcomes. How many
    were claimed. `clock` is read at the claim and again for the outcomes, which come after the calls."""
    claimed_at = clock()
    timeout = timedelta(seconds=settings.webhook_timeout_s)
    async with unit_of_work(sessions) as session:
        claims = await claim_due(session, now=claimed_at, lease_for=lease(timeout), limit=settings.webhook_batch)
    if not claims:
        return 0
    outcomes = await asyncio.gather(*(post(client, settings, claim.delivery, at=claimed_at) for claim in claims))
    recorded_at = clock()
    backoff = timedelta(seconds=settings.webhook_backoff_s)
    async with unit_of_work(sessions) as session:
        for claim, outcome in sorted(zip(claims, outcomes, strict=True), key=lambda pair: pair[0].delivery.id):
            await record_outcome(
                session, claim, outcome, now=recorded_at, max_attempts=settings.webhook_max_attempts, backoff=backoff
            )
    failed = [str(claim.delivery.id) for claim, outcome in zip(claims, outcomes, strict=True) if not outcome.delivered]
    if failed:
        log.warning("notification deliveries failed", extra={"notification_ids": failed})
    return len(claims)


def notification_delivery(settings: AuditSettings, clock: Callable[[], datetime]) -> Worker:
    """The background worker: with a webhook configured, deliver due notifications every `webhook_interval_s`
    (rounds follow at once while they come back full); without one, notifications stay in the inbox.

    The service's sessions are set to write notifications pending when the worker is given the runtime, before
    anything runs: no notification written by this service is then left out of delivery."""

    def start(runtime: ServiceRuntime) -> Coroutine[Any, Any, None]:
        if settings.webhook_url is None:
            return _inbox_only()
        deliver_by_webhook(runtime.sessions)
        return _deliver_periodically(runtime.sessions, settings, clock)

    return start


async def _inbox_only() -> None:
    log.info("no webhook configured: notifications stay in the inbox")


async def _deliver_periodically(
    sessions: async_sessionmaker[AsyncSession], settings: AuditSettings, clock: Callable[[], datetime]
) -> None:
    async with httpx.AsyncClient(timeout=settings.webhook_timeout_s, follow_redirects=False) as client:
        while True:
            await asyncio.sleep(settings.webhook_interval_s)  # first round one interval after start-up
            try:
                while await deliver_due(sessions, settings, client, clock=clock) == settings.webhook_batch:
                    pass
            except Exception:  # a database outage must not end the worker; cancellation still does
                log.exception("notification delivery failed; retrying at the next interval")

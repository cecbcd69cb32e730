"""Notifications delivered to a real webhook receiver on 127.0.0.1 (uvicorn, a free port), audit on PostgreSQL: a
receiver that fails, times out, answers garbage and recovers gets the notification once by its dedupe; one that never
recovers makes it dead, and a redelivery gets it through; a crash between claim and outcome loses nothing; the running
service's worker delivers what its use cases write. The receiver checks every signature itself."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from services.audit.domain import delivery, findings, notifications
from services.audit.models import Notification
from services.audit.rules.notifications import NotificationKind
from services.audit.settings import AuditSettings
from shared.db import create_engine, unit_of_work
from shared.timeutil import utcnow
from tests.kafka_support import eventually
from tests.support import running_app
from tests.unit.test_audit_support import NOW, POLICY, facts

pytestmark = pytest.mark.integration

SECRET = "receiver-shared-secret-0123456789abcdef"
TIMEOUT_S = 0.3
SLOWER_S = 1.5  # the slow answer comes this long after the request: past the sender's timeout
GARBAGE = b"\x00\xff\xfe<html>" + bytes(range(256)) * 4


class Receiver:
    """The messaging system's side: verifies each signature, answers as scripted (the last step repeats), and
    dedupes by `X-Poverty-Delivery`, processing a notification only the first time it answers 2xx for it."""

    def __init__(self, *script: str) -> None:
        self.script = list(script)
        self.requests: list[tuple[str, bool]] = []  # delivery id, signature valid
        self.processed: dict[str, int] = {}  # delivery id -> times processed (the dedupe keeps it at 1)
        self.duplicates = 0

    async def hook(self, request: Request) -> Response:
        raw = await request.body()
        delivery_id = request.headers["X-Poverty-Delivery"]
        parts = dict(part.split("=", 1) for part in request.headers["X-Poverty-Signature"].split(","))
        expected = hmac.new(SECRET.encode(), parts["t"].encode() + b"." + raw, hashlib.sha256).hexdigest()
        valid = hmac.compare_digest(expected, parts["v1"]) and json.loads(raw)["id"] == delivery_id
        self.requests.append((delivery_id, valid))
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if step == "fail":
            return PlainTextResponse("internal error", status_code=500)
        if step == "slow":
            await asyncio.sleep(SLOWER_S)
            return PlainTextResponse("too late", status_code=504)
        if step == "garbage":
            return Response(GARBAGE, status_code=502, media_type="application/octet-stream")
        if delivery_id in self.processed:
            self.duplicates += 1
        else:
            self.processed[delivery_id] = 1
        return PlainTextResponse("ok")


@asynccontextmanager
async def serving(receiver: Receiver) -> AsyncIterator[str]:
    """The receiver served by uvicorn on a port the system chose; its URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = Starlette(routes=[Route("/hook", receiver.hook, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await eventually(lambda: server.started)
    try:
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def sessions(pg_database: Any) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(await pg_database("audit"))
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    notifications.deliver_by_webhook(sessions)  # as the service with a webhook configured does
    try:
        yield sessions
    finally:
        await engine.dispose()


def settings_for(url: str, **overrides: Any) -> AuditSettings:
    values: dict[str, Any] = {
        "database_url": "unused",
        "webhook_url": url,
        "webhook_secret": SECRET,
        "webhook_timeout_s": TIMEOUT_S,
        "webhook_backoff_s": 30,
        "webhook_max_attempts": 8,
    }
    return AuditSettings(**(values | overrides))


async def notified(sessions: async_sessionmaker[AsyncSession], at: datetime = NOW, subject: str = "h1") -> Notification:
    """A finding of a cadre's, and a due-soon notification about it, pending."""
    async with unit_of_work(sessions) as s:
        finding = await findings.record_finding(s, facts(subject=subject, grade="C"), policy=POLICY, now=at)
        finding.responsible_person_id = "cadre-7"
        notification_id = await notifications.notify_about(s, finding, NotificationKind.DUE_SOON, now=at)
    assert notification_id is not None
    async with sessions() as s:
        notification = await s.get(Notification, notification_id)
    assert notification is not None
    return notification


async def row(sessions: async_sessionmaker[AsyncSession], notification: Notification) -> Notification:
    async with sessions() as s:
        found = await s.get(Notification, notification.id)
    assert found is not None
    return found


def clock_at(moment: list[datetime]) -> Callable[[], datetime]:
    return lambda: moment[0]


async def test_a_receiver_that_fails_times_out_answers_garbage_then_recovers_gets_it_once(sessions: Any) -> None:
    receiver = Receiver("fail", "slow", "garbage", "ok")
    notification = await notified(sessions)
    moment = [NOW]
    async with serving(receiver) as url, httpx.AsyncClient() as client:
        settings = settings_for(url)
        errors = []
        for _ in range(3):
            assert await delivery.deliver_due(sessions, settings, client, clock=clock_at(moment)) == 1
            current = await row(sessions, notification)
            assert current.delivery_status == "pending" and current.next_attempt_at is not None
            errors.append(current.last_error)
            moment[0] = current.next_attempt_at
        assert await delivery.deliver_due(sessions, settings, client, clock=clock_at(moment)) == 1
    assert errors[0] == "HTTP 500: internal error"
    assert errors[1] == f"timeout after {TIMEOUT_S:g} s"
    assert errors[2] is not None and errors[2].startswith("HTTP 502: ") and len(errors[2]) == len("HTTP 502: ") + 200
    final = await row(sessions, notification)
    assert (final.delivery_status, final.attempts, final.delivered_at) == ("delivered", 4, moment[0])
    assert receiver.processed == {str(notification.id): 1} and receiver.duplicates == 0
    assert [valid for _, valid in receiver.requests] == [True] * 4


async def test_a_receiver_that_never_recovers_makes_it_dead_and_a_redelivery_gets_it_through(sessions: Any) -> None:
    receiver = Receiver("fail")
    notification = await notified(sessions)
    moment = [NOW]
    async with serving(receiver) as url, httpx.AsyncClient() as client:
        settings = settings_for(url, webhook_max_attempts=3)
        for _ in range(5):  # more rounds than attempts: a dead one is not tried again
            await delivery.deliver_due(sessions, settings, client, clock=clock_at(moment))
            moment[0] += timedelta(hours=2)
        dead = await row(sessions, notification)
        assert (dead.delivery_status, dead.attempts, dead.next_attempt_at) == ("dead", 3, None)
        assert dead.last_error == "HTTP 500: internal error" and len(receiver.requests) == 3
        async with unit_of_work(sessions) as s:
            await notifications.redeliver(s, notification.id, now=moment[0])
        receiver.script = ["ok"]
        assert await delivery.deliver_due(sessions, settings, client, clock=clock_at(moment)) == 1
    again = await row(sessions, notification)
    assert (again.delivery_status, again.attempts) == ("delivered", 1)
    assert receiver.processed == {str(notification.id): 1}


async def test_a_crash_between_the_claim_and_the_outcome_is_delivered_once_the_lease_runs_out(sessions: Any) -> None:
    receiver = Receiver("ok")
    notification = await notified(sessions)
    async with serving(receiver) as url, httpx.AsyncClient() as client:
        settings = settings_for(url)
        lease = timedelta(seconds=TIMEOUT_S) + timedelta(minutes=1)
        async with unit_of_work(sessions) as s:  # a replica claims, then dies before calling or recording
            claimed = await delivery.claim_due(s, now=NOW, lease_for=lease, limit=10)
        assert [c.delivery.id for c in claimed] == [notification.id]
        assert await delivery.deliver_due(sessions, settings, client, clock=lambda: NOW + timedelta(seconds=30)) == 0
        assert receiver.requests == []  # still leased
        later = NOW + lease + timedelta(seconds=1)
        assert await delivery.deliver_due(sessions, settings, client, clock=lambda: later) == 1
    final = await row(sessions, notification)
    assert (final.delivery_status, final.attempts) == ("delivered", 2)
    assert receiver.processed == {str(notification.id): 1}


async def test_the_running_service_delivers_what_its_use_cases_write(pg_database: Any) -> None:
    receiver = Receiver("fail", "ok")
    url = await pg_database("audit")
    async with (
        serving(receiver) as hook,
        running_app(
            "audit", url, webhook_url=hook, webhook_secret=SECRET, webhook_interval_s=0.05, webhook_backoff_s=0.05
        ) as (app, _),
    ):
        written = await notified(app.state.sessions, at=utcnow())

        async def delivered() -> bool:
            return (await row(app.state.sessions, written)).delivery_status == "delivered"

        await eventually(delivered)
    assert receiver.processed == {str(written.id): 1} and [v for _, v in receiver.requests] == [True, True]

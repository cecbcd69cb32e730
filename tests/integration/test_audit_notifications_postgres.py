"""Notifications on PostgreSQL: replicas claim due deliveries with FOR UPDATE SKIP LOCKED (each notification posted
once), concurrent scheduled runs notify once per overdue task, the inbox pages and marks one's own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.audit.domain import delivery, findings, notifications, scheduled
from services.audit.models import Finding, Notification
from services.audit.settings import AuditSettings
from shared.api.clock import request_time
from shared.db import create_engine, unit_of_work
from tests.support import auth, running_app
from tests.unit.test_audit_api_pages import assert_pages
from tests.unit.test_audit_support import NOW, POLICY, facts

pytestmark = pytest.mark.integration

CADRE = "cadre-7"
SETTINGS = AuditSettings(
    database_url="unused", webhook_url="http://receiver.test/hook", webhook_secret="s" * 40, webhook_batch=3
)


@pytest.fixture
async def sessions(pg_database: Any) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(await pg_database("audit"))
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    notifications.deliver_by_webhook(sessions)
    try:
        yield sessions
    finally:
        await engine.dispose()


async def overdue_findings(sessions: async_sessionmaker[AsyncSession], count: int, person: str = CADRE) -> None:
    """`count` findings of `person`'s, their tasks not yet marked overdue."""
    for n in range(count):
        async with unit_of_work(sessions) as s:
            finding = await findings.record_finding(
                s, facts(subject=f"{person}-h{n}", grade="C"), policy=POLICY, now=NOW
            )
            finding.responsible_person_id = person


async def test_replicas_claim_disjoint_deliveries_while_another_holds_its_rows(sessions: Any) -> None:
    await overdue_findings(sessions, 2)
    async with unit_of_work(sessions) as s:
        await scheduled.mark_overdue(s, now=NOW + timedelta(days=30))  # 2 overdue + 2 referred notifications
    due = NOW + timedelta(days=30)
    lease = timedelta(minutes=1)
    async with sessions() as a, a.begin():
        by_a = await delivery.claim_due(a, now=due, lease_for=lease, limit=3)
        async with unit_of_work(sessions) as b:  # while A holds its rows: B skips them, takes the rest
            by_b = await delivery.claim_due(b, now=due, lease_for=lease, limit=10)
    ids_a, ids_b = {c.delivery.id for c in by_a}, {c.delivery.id for c in by_b}
    assert (len(ids_a), len(ids_b), ids_a & ids_b) == (3, 1, set())
    async with unit_of_work(sessions) as c:  # both leased now
        assert await delivery.claim_due(c, now=due, lease_for=lease, limit=10) == []


async def test_three_replicas_deliver_each_notification_once(sessions: Any) -> None:
    await overdue_findings(sessions, 5)
    async with unit_of_work(sessions) as s:
        await scheduled.mark_overdue(s, now=NOW + timedelta(days=30))
    posted: list[str] = []

    async def receive(request: httpx.Request) -> httpx.Response:
        posted.append(request.headers["X-Poverty-Delivery"])
        await asyncio.sleep(0)  # let the other replicas run meanwhile
        return httpx.Response(204)

    async def replica() -> int:
        async with httpx.AsyncClient(transport=httpx.MockTransport(receive)) as client:
            total = 0
            while claimed := await delivery.deliver_due(
                sessions, SETTINGS, client, clock=lambda: NOW + timedelta(days=30)
            ):
                total += claimed
            return total

    rounds = await asyncio.gather(*(replica() for _ in range(3)))
    async with sessions() as s:
        rows = (await s.scalars(select(Notification))).all()
    assert sum(rounds) == len(rows) == 10
    assert sorted(posted) == sorted(str(n.id) for n in rows)  # each posted once
    assert {(n.delivery_status, n.attempts) for n in rows} == {("delivered", 1)}


async def test_concurrent_scheduled_runs_notify_once_per_overdue_task(sessions: Any) -> None:
    await overdue_findings(sessions, 9)
    settings = AuditSettings(database_url="unused", scan_batch_size=2)
    later = NOW + timedelta(days=30)
    await asyncio.gather(*(scheduled.run_checks(sessions, settings, now=later) for _ in range(3)))
    async with sessions() as s:
        kinds = (await s.scalars(select(col(Notification.kind)))).all()
        findings_told = (
            await s.scalars(select(col(Notification.finding_id)).where(col(Notification.kind) == "overdue"))
        ).all()
    assert sorted(kinds) == ["overdue"] * 9 + ["referred"] * 9
    assert len(set(findings_told)) == 9


async def test_the_inbox_pages_and_marks_only_ones_own_on_postgres(pg_database: Any) -> None:
    async with running_app("audit", await pg_database("audit")) as (app, client):
        app.dependency_overrides[request_time] = lambda: NOW + timedelta(days=40)
        await overdue_findings(app.state.sessions, 4)
        await overdue_findings(app.state.sessions, 1, person="cadre-8")
        async with unit_of_work(app.state.sessions) as s:
            await scheduled.mark_overdue(s, now=NOW + timedelta(days=30))
        me = auth("helper_cadre", area="371523101201", sub=CADRE)
        mine = await assert_pages(client, "/v1/notifications", limit=3, headers=me)
        assert len(mine) == 8 and {n["person_id"] for n in mine} == {CADRE}
        assert {n["delivery_status"] for n in mine} == {"not_sent"}  # the app has no webhook: inbox only
        assert (await client.post("/v1/notifications/read-all", headers=me)).json()["marked"] == 8
        async with app.state.sessions() as s:
            unread = (
                await s.scalars(select(col(Notification.person_id)).where(col(Notification.read_at).is_(None)))
            ).all()
        assert unread == ["cadre-8", "cadre-8"]
        async with unit_of_work(app.state.sessions) as s:  # a finding handed to someone else keeps its history
            await s.execute(update(Finding).values(responsible_person_id="cadre-9"))
        assert len((await client.get("/v1/notifications", headers=me)).json()["items"]) == 8

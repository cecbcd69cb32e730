"""Grievances (群众诉求) on real PostgreSQL: the whole course over HTTP (the sealed contact in a bytea column, a
township office that never sees it, the logged reveal, triage, reply, filters), a triage raced by two officers, the
reply-deadline check run by several replicas at once (each grievance marked once, no deadlock between townships),
and migration 0009 taken down and up again."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.audit.domain import grievance_checks, grievances, ledger
from services.audit.models import Finding, Grievance, GrievanceContactReveal
from services.audit.rules import grievances as rules
from services.audit.settings import AuditSettings
from shared.api.clock import request_time
from shared.db import create_engine
from shared.migrations import alembic_config, is_at_head
from tests.support import assert_problem, running_app
from tests.unit.test_audit_grievances import (
    ANONYMOUS,
    AUDITOR,
    COMMISSION,
    DISTRICT,
    FINDING,
    NAME,
    NO_FINDING,
    PHONE,
    TOWNSHIP_OFFICER,
    take,
)
from tests.unit.test_audit_support import DISTRICT as DISTRICT_OFFICER
from tests.unit.test_audit_support import NOW, OTHER_TOWNSHIP, TOWNSHIP, VILLAGE

pytestmark = pytest.mark.integration


@pytest.fixture
async def api(pg_database: Any) -> AsyncIterator[Any]:
    async with running_app("audit", await pg_database("audit")) as (app, client):
        app.dependency_overrides[request_time] = lambda: NOW
        yield app, client


async def test_the_course_of_a_grievance_on_postgresql(api: Any) -> None:
    app, client = api
    taken = await take(client)
    anonymous = await take(client, {**ANONYMOUS, "channel": "online"})
    township_view = (await client.get("/v1/grievances", headers=TOWNSHIP_OFFICER)).json()["items"]
    assert len(township_view) == 2 and all("contact_masked" not in g for g in township_view)
    revealed = await client.post(f"/v1/grievances/{taken['id']}/contact", json={"reason": "回访"}, headers=DISTRICT)
    assert (revealed.json()["name"], revealed.json()["phone"]) == (NAME, PHONE)
    triage = f"/v1/grievances/{taken['id']}/triage"
    assert (await client.post(triage, json=FINDING, headers=COMMISSION)).json()["status"] == "triaged"
    assert_problem(await client.post(triage, json=FINDING, headers=DISTRICT), 409)
    await client.post(f"/v1/grievances/{anonymous['id']}/triage", json=NO_FINDING, headers=DISTRICT)
    reply = {"replied_on": "2020-05-11", "reply": "已答复"}
    replied = await client.post(f"/v1/grievances/{taken['id']}/reply", json=reply, headers=DISTRICT)
    assert replied.json()["status"] == "replied"

    async def ids(query: str) -> list[str]:
        return [g["id"] for g in (await client.get(f"/v1/grievances?{query}", headers=AUDITOR)).json()["items"]]

    assert await ids("status=replied") == [taken["id"]]
    assert await ids("channel=online&area_code=371523101") == [anonymous["id"]]
    assert await ids("from=2020-05-05") == []
    assert await ids("overdue=false") == sorted([taken["id"], anonymous["id"]], reverse=True)
    async with app.state.sessions() as s:
        row = await s.get(Grievance, uuid.UUID(taken["id"]))
        finding = (await s.scalars(select(Finding))).one()
        assert await s.scalar(select(func.count()).select_from(GrievanceContactReveal)) == 1
        assert (await ledger.verify(s)).ok
    assert row is not None and row.contact_ciphertext is not None and PHONE.encode() not in row.contact_ciphertext
    assert (finding.source_ref, str(finding.id)) == (taken["id"], row.finding_id and str(row.finding_id))
    assert PHONE not in json.dumps(township_view, ensure_ascii=False)


async def test_two_officers_triaging_at_once_open_one_finding(api: Any) -> None:
    app, client = api
    taken = await take(client)
    path = f"/v1/grievances/{taken['id']}/triage"
    answers = await asyncio.gather(*(client.post(path, json=FINDING, headers=h) for h in (DISTRICT, COMMISSION)))
    assert sorted(a.status_code for a in answers) == [200, 409]
    async with app.state.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Finding)) == 1


@pytest.fixture
async def sessions(pg_database: Any) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(await pg_database("audit"))
    try:
        yield async_sessionmaker(engine, expire_on_commit=False)
    finally:
        await engine.dispose()


async def test_replicas_mark_each_unanswered_grievance_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    vault = AuditSettings().contact_vault()
    # Townships interleaved, so that replicas' batches hold several townships each, in different orders.
    areas = [VILLAGE, f"{OTHER_TOWNSHIP}001", "371523108", f"{OTHER_TOWNSHIP}002"] * 4
    async with sessions() as s, s.begin():
        for area in areas:
            intake = grievances.Intake(
                channel=rules.GrievanceChannel.LETTERS_VISITS,
                received_on=NOW.date() - timedelta(days=1),
                area_code=area,
                summary="反映危房改造补助未到位",
                anonymous=True,
            )
            grievances.receive_grievance(
                s, intake, vault=vault, response_days=15, actor=DISTRICT_OFFICER, today=NOW.date(), now=NOW
            )
    settings = AuditSettings(database_url="unused", scan_batch_size=3)
    later = NOW + timedelta(days=30)
    runs = await asyncio.gather(
        *(grievance_checks.run_grievance_checks(sessions, settings, now=later) for _ in range(3))
    )
    assert sum(runs) == len(areas)
    async with sessions() as s:
        findings = (await s.scalars(select(Finding).where(col(Finding.code) == rules.UNANSWERED_CODE))).all()
        unmarked = await s.scalar(select(func.count()).where(col(Grievance.unanswered_finding_id).is_(None)))
        assert (await ledger.verify(s)).ok
    assert sorted((f.subject_id, f.occurrences) for f in findings) == [
        (TOWNSHIP, 4),
        (OTHER_TOWNSHIP, 8),
        ("371523108", 4),
    ]
    assert unmarked == 0


async def test_migration_0009_goes_down_and_up_again(pg_database: Any) -> None:
    url = await pg_database("audit")
    engine = create_engine(url)

    def to(target: str, connection: Any) -> None:
        cfg = alembic_config("audit")
        cfg.attributes["connection"] = connection
        (command.downgrade if target == "0008" else command.upgrade)(cfg, target)

    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: to("0008", c))
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: to("head", c))
        assert await is_at_head(engine, "audit")
    finally:
        await engine.dispose()

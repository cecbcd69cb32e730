"""Data comparisons (数据比对) on real PostgreSQL: a department's batch larger than a chunk is matched one query per
chunk of ID numbers and hits exactly the 低保/特困供养 members in it, once; a death and a payment for a period after it,
racing in two transactions, are one hit whichever commits first."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import event, select
from sqlmodel import col

from services.households.domain import deaths
from services.households.domain.comparisons import CHUNK
from services.households.models import Household, IntegrityHit, Member
from shared.contracts.subsidies import SubsidyPaid
from shared.timeutil import district_today, utcnow
from tests.integration.test_audit_postgres import until_a_lock_is_awaited
from tests.support import apply_event, auth, envelope_of, running_app
from tests.unit.test_households_helpers import OFFICE, VILLAGE, household, make_id, member, register

pytestmark = pytest.mark.integration
MakeDb = Callable[[str], Awaitable[str]]
TRAFFIC, CIVIL = auth("dept_traffic_police", sub="police"), auth("dept_civil_affairs", sub="civil-affairs")
DEATH = {"died_on": "2020-06-03", "source": "民政殡葬"}


def born(n: int) -> date:
    return date(1950, 1, 1) + timedelta(days=n // 900)


def person(n: int) -> str:
    """The n-th of many distinct valid ID numbers."""
    return make_id(born(n), n % 900 + 1)


async def on_allowance(client: Any, code: str, n: int, allowance: str) -> dict[str, str]:
    """A household whose head holds `person(n)`, on `allowance`: its id and its head's."""
    body = household(code, VILLAGE, member("张三", "head", born(n), seq=n % 900 + 1))
    registered = await register(client, body)
    if allowance != "none":
        row = {"household_code": code, "status": allowance, "effective_on": "2020-03-01"}
        headers = {**CIVIL, "Idempotency-Key": f"allowance-{code}"}
        r = await client.post("/v1/department-data/minimum_allowance", json={"rows": [row]}, headers=headers)
        assert r.json()["applied_count"] == 1, r.text
    return {"household": registered["id"], "head": registered["members"][0]["id"]}


async def test_a_batch_of_many_chunks_hits_exactly_the_members_on_the_allowance(pg_database: MakeDb) -> None:
    async with running_app("households", await pg_database("households")) as (app, client):
        rows = [{"id_number": person(n), "vehicle_kind": "car", "registered_on": "2020-01-15"} for n in range(2500)]
        dibao = await on_allowance(client, "PG-C1", 7, "dibao")
        te_kun = await on_allowance(client, "PG-C2", 1999, "extreme_poverty")
        await on_allowance(client, "PG-C3", 2400, "none")
        lookups: list[str] = []

        def count_lookups(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if "FROM member JOIN household" in statement:
                lookups.append(statement)

        event.listen(app.state.runtime.engine.sync_engine, "before_cursor_execute", count_lookups)
        headers = {**TRAFFIC, "Idempotency-Key": "vehicles-2020-06"}
        r = await client.post("/v1/department-data/vehicle_registration", json={"rows": rows}, headers=headers)
        event.remove(app.state.runtime.engine.sync_engine, "before_cursor_execute", count_lookups)
        assert r.status_code == 201, r.text
        report = r.json()
        assert (report["applied_count"], report["error_count"]) == (3, 2497)
        assert {e["code"] for e in report["errors"]} == {"not-found"}
        assert len(lookups) == -(-len(rows) // CHUNK)
        async with app.state.sessions() as s:
            found = (await s.scalars(select(IntegrityHit))).all()
        assert sorted((str(h.member_id), h.kind, h.ref) for h in found) == sorted(
            (ids["head"], "dibao_with_vehicle", report["batch_id"]) for ids in (dibao, te_kun)
        )


def payment(ids: dict[str, str], period: str) -> SubsidyPaid:
    return SubsidyPaid(
        household_id=UUID(ids["household"]), payment_id=uuid4(), policy_code="disability_living_subsidy",
        period=period, amount_fen=9_000, member_id=UUID(ids["head"]),
    )  # fmt: skip


async def kinds_hit(app: Any) -> list[str]:
    async with app.state.sessions() as s:
        return list((await s.scalars(select(col(IntegrityHit.kind)))).all())


async def test_a_payment_waiting_on_a_death_being_recorded_sees_it(pg_database: MakeDb) -> None:
    async with running_app("households", await pg_database("households")) as (app, client):
        ids = await on_allowance(client, "PG-D1", 11, "none")
        now = utcnow()
        async with app.state.sessions() as s, s.begin():
            household = await s.get(Household, UUID(ids["household"]), with_for_update=True)
            head = await s.get(Member, UUID(ids["head"]))
            assert household is not None and head is not None
            died_on, today = date(2020, 6, 3), district_today(now)
            await deaths.record_death(
                s, household, head, died_on=died_on, source="民政殡葬", actor="x", now=now, today=today
            )
            await s.flush()
            racing = asyncio.create_task(apply_event(app, payment(ids, "2020-07")))
            await until_a_lock_is_awaited(app.state.sessions, kinds=("transactionid", "tuple"))
        await racing
        assert await kinds_hit(app) == ["paid_after_death"]


async def test_a_death_waiting_on_a_payment_being_counted_sees_it(pg_database: MakeDb) -> None:
    async with running_app("households", await pg_database("households")) as (app, client):
        ids = await on_allowance(client, "PG-D2", 13, "none")
        july = payment(ids, "2020-07")
        paid = app.state.runtime.handlers.bind(july.topic, envelope_of(july))
        path = f"/v1/households/{ids['household']}/members/{ids['head']}/death"
        async with app.state.sessions() as s, s.begin():
            await paid(s)
            racing = asyncio.create_task(client.post(path, json=DEATH, headers=OFFICE))
            await until_a_lock_is_awaited(app.state.sessions, kinds=("transactionid", "tuple"))
        assert (await racing).status_code == 201
        assert await kinds_hit(app) == ["counted_after_death"]

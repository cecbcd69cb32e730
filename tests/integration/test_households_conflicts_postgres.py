"""Conflicts of interest (优亲厚友) on real PostgreSQL: the checks' queries (the union of holders' and relatives'
hashes, array parameters), hits kept once when two transactions race to find the same one, the import's COPY path
checked in one query per chunk, and a relative recorded after the payment checked against the approver's lists."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import event, func, select
from sqlmodel import col

from services.households.domain.imports.importer import HouseholdImporter
from services.households.domain.imports.rows import OPTIONAL, REQUIRED
from services.households.domain.imports.sources import open_table
from services.households.models import IntegrityHit
from services.households.settings import HouseholdsSettings
from shared.contracts.households import HouseholdProblemFound
from shared.contracts.projects import IncomeDistributionApproved, PlanShare
from shared.contracts.subsidies import CycleApproved, SubsidyPaid
from shared.db import create_engine
from shared.messaging.outbox import OutboxMessage
from shared.timeutil import district_today, utcnow
from tests.support import envelope_of, running_app
from tests.unit.test_households_helpers import OFFICE, VILLAGE, household, make_id, member, register

pytestmark = pytest.mark.integration
MakeDb = Callable[[str], Awaitable[str]]
SPOUSE_BORN = date(1977, 8, 12)
CADRE_ID, SPOUSE_ID = make_id(date(1975, 3, 4), 501), make_id(SPOUSE_BORN, 502)


async def holder_with_spouse(client: Any, person_id: str = "cadre-li", **facts: Any) -> str:
    body = {"person_id": person_id, "name": "李支书", "post": "村支书", "role": "village_cadre", "area_code": VILLAGE}
    r = await client.post("/v1/power-holders", json={**body, **facts}, headers=OFFICE)
    assert r.status_code == 201, r.text
    holder_id: str = r.json()["id"]
    spouse = {"relationship": "spouse", "id_number": SPOUSE_ID}
    r = await client.post(f"/v1/power-holders/{holder_id}/relatives", json=spouse, headers=OFFICE)
    assert r.status_code == 201, r.text
    return holder_id


def spouse_household(code: str) -> dict[str, Any]:
    spouse = {**member("王桂芝", "spouse", SPOUSE_BORN), "id_number": SPOUSE_ID}
    return household(code, VILLAGE, member("张三", "head", date(1950, 1, 1), seq=601), spouse)


async def conduct_problems(app: Any) -> list[HouseholdProblemFound]:
    async with app.state.sessions() as s:
        stmt = select(OutboxMessage).where(col(OutboxMessage.event_type) == HouseholdProblemFound.event_type)
        return [HouseholdProblemFound.model_validate_json(r.payload) for r in (await s.scalars(stmt)).all()]


async def hit_kinds(app: Any) -> list[str]:
    async with app.state.sessions() as s:
        return sorted((await s.scalars(select(col(IntegrityHit.kind)))).all())


async def test_beneficiary_and_approval_hits_on_postgres_kept_once_when_raced(pg_database: MakeDb) -> None:
    async with running_app("households", await pg_database("households")) as (app, client):
        await holder_with_spouse(client, person_id="finance-qian", role="payment_approver", area_code="371523")
        paid = UUID((await register(client, spouse_household("PG-1")))["id"])
        bodies = [household(f"PG-{i}", VILLAGE, member("孙", "head", date(1950, 1, 1), seq=i)) for i in range(2, 6)]
        others = [UUID((await register(client, body))["id"]) for body in bodies]
        assert await hit_kinds(app) == ["relative_beneficiary"]
        shares = [PlanShare(household_id=h, amount_fen=1000) for h in [*others, paid]]
        plan = IncomeDistributionApproved(
            project_id=uuid4(), plan_id=uuid4(), income_id=uuid4(), period="2020-06", owner_area_code=VILLAGE,
            approved_by="finance-qian", shares=shares,
        )  # fmt: skip

        async def apply_alone() -> None:  # two consumers applying the same approval at once (a replay racing)
            application = app.state.runtime.handlers.bind(plan.topic, envelope_of(plan))
            async with app.state.sessions() as session, session.begin():
                await application(session)

        await asyncio.gather(apply_alone(), apply_alone())
        assert await hit_kinds(app) == ["approval_of_relative", "relative_beneficiary"]
        problems = await conduct_problems(app)
        assert sorted(p.code for p in problems) == ["approval_of_relative", "relative_beneficiary"]
        assert all(
            p.severity == "severe" and p.responsible and p.responsible.person_id == "finance-qian" for p in problems
        )


async def test_a_relative_recorded_after_a_cycle_paid_their_household_is_an_approval_hit_on_postgres(
    pg_database: MakeDb,
) -> None:
    async with running_app("households", await pg_database("households")) as (app, client):
        hid = UUID((await register(client, spouse_household("PG-7")))["id"])
        cycle, payment = uuid4(), uuid4()
        approved = CycleApproved(
            cycle_id=cycle, programme_code="dibao", period="2020-06", version_id=uuid4(), entitled_count=1,
            total_fen=50_000, submitted_by="clerk-1", approved_by="approver-sun",
        )  # fmt: skip
        paid = SubsidyPaid(
            household_id=hid,
            payment_id=payment,
            policy_code="dibao",
            period="2020-06",
            amount_fen=50_000,
            cycle_id=cycle,
        )
        for e in (approved, paid):
            application = app.state.runtime.handlers.bind(e.topic, envelope_of(e))
            async with app.state.sessions() as session, session.begin():
                await application(session)
        assert await hit_kinds(app) == []
        await holder_with_spouse(client, person_id="approver-sun", role="payment_approver", area_code="371523")
        assert await hit_kinds(app) == ["approval_of_relative", "relative_beneficiary"]
        async with app.state.sessions() as s:
            evidence = (
                await s.scalars(select(col(IntegrityHit.evidence)).where(col(IntegrityHit.ref) == str(cycle)))
            ).one()
        assert {"type": "payment", "id": str(payment)} in evidence


async def test_the_import_copy_path_checks_each_chunk_in_one_query_on_postgres(
    pg_database: MakeDb, tmp_path: Path
) -> None:
    url = await pg_database("households")
    async with running_app("households", url) as (app, client):
        await holder_with_spouse(client)
        header = [*REQUIRED, *OPTIONAL]
        rows = [
            {"household_code": f"IM-{i}", "area_code": VILLAGE, "head_name": f"户主{i}", "member_name": f"户主{i}",
             "relationship_to_head": "head", "birth_date": "1950-01-01",
             "id_number": make_id(date(1950, 1, 1), 800 + i)}
            for i in range(6)
        ]  # fmt: skip
        rows.append({**rows[5], "member_name": "王桂芝", "relationship_to_head": "spouse",
                     "birth_date": SPOUSE_BORN.isoformat(), "id_number": SPOUSE_ID})  # fmt: skip
        path = tmp_path / "h.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows([[r.get(c, "") for c in header] for r in rows])
        statements: list[str] = []
        engine = create_engine(url)
        event.listen(engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        try:
            importer = HouseholdImporter(engine, HouseholdsSettings(), actor="t", chunk=3)
            with open_table(path) as table:
                now = utcnow()
                report = await importer.run(table, now=now, today=district_today(now), on_error=lambda e: None)
        finally:
            await engine.dispose()
        assert report.members_added == 7
        assert len([s for s in statements if "powerholder" in s.lower()]) == 2
        [problem] = await conduct_problems(app)
        assert problem.code == "relative_beneficiary"
        async with app.state.sessions() as s:
            assert await s.scalar(select(func.count()).select_from(IntegrityHit)) == 1

"""The subsidies service on real PostgreSQL: payment retries racing on one Idempotency-Key, a coverage check and
its gaps, pages of payments, and the migrations (both ways, and the receipts they give incomes distributed before
receipts were kept)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from alembic import command
from sqlalchemy import func, insert, select

from services.subsidies.models import IncomeAllocation, IncomeReceipt, Payment
from shared.api.clock import request_time
from shared.contracts.households import HouseholdRegistered, MemberDisabilityRecorded
from shared.db import create_engine
from shared.messaging.outbox import OutboxMessage
from shared.migrations import alembic_config, is_at_head
from shared.timeutil import utcnow
from tests.support import apply_event, auth, running_app
from tests.unit.test_projects_pages_and_retries import walk
from tests.unit.test_subsidies_coverage import entitlement_kept_before_periods

pytestmark = pytest.mark.integration
MakeDb = Callable[[str], Awaitable[str]]
HOUSEHOLD = UUID(int=1)
FINANCE = auth("finance_officer", sub="cashier-1")


def _payment(**changes: Any) -> dict[str, Any]:
    body = {"household_id": str(HOUSEHOLD), "policy_code": "dibao", "period": "2020-06", "amount_fen": 52_000}
    return {**body, **changes}


def _keyed(key: str, headers: dict[str, str] = FINANCE) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


async def _counts(app: Any) -> tuple[int, int]:
    async with app.state.sessions() as s:
        payments = await s.scalar(select(func.count()).select_from(Payment))
        events = await s.scalar(select(func.count()).select_from(OutboxMessage))
        return int(payments or 0), int(events or 0)


@pytest.fixture
async def api(pg_database: MakeDb) -> Any:
    async with running_app("subsidies", await pg_database("subsidies")) as (app, client):
        registered = HouseholdRegistered(
            household_id=HOUSEHOLD, household_code="CP-1", area_code="371523101201", member_count=3
        )
        await apply_event(app, registered)
        yield app, client


async def test_retries_racing_on_one_key_give_one_201_and_the_original_to_the_others(api: Any) -> None:
    app, client = api
    for attempt in range(5):
        body, key = _payment(period=f"2020-0{attempt + 1}"), _keyed(f"race-{attempt}")
        results = await asyncio.gather(*(client.post("/v1/payments", json=body, headers=key) for _ in range(3)))
        assert sorted(r.status_code for r in results) == [200, 200, 201], [r.text for r in results]
        assert len({r.json()["id"] for r in results}) == 1
        assert sorted(r.headers.get("Idempotency-Replayed", "") for r in results) == ["", "true", "true"]
    assert await _counts(app) == (5, 5)


async def test_officers_racing_on_one_key_pay_once(api: Any) -> None:
    app, client = api
    officers = [auth("finance_officer", sub=f"cashier-{n}") for n in range(3)]  # the key is unique among payments
    requests = (client.post("/v1/payments", json=_payment(), headers=_keyed("shared-key", o)) for o in officers)
    results = await asyncio.gather(*requests)
    assert sorted(r.status_code for r in results) == [200, 200, 201], [r.text for r in results]
    assert len({r.json()["id"] for r in results}) == 1
    assert await _counts(app) == (1, 1)


async def test_racing_requests_that_differ_are_409_for_the_loser(api: Any) -> None:
    app, client = api
    key_reuse = [_payment(), _payment(amount_fen=1)]
    results = await asyncio.gather(
        *(client.post("/v1/payments", json=b, headers=_keyed("same-key")) for b in key_reuse)
    )
    assert sorted(r.status_code for r in results) == [201, 409], [r.text for r in results]
    already_paid = [(_payment(period="2020-07"), _keyed(key)) for key in ("key-a", "key-b")]
    results = await asyncio.gather(*(client.post("/v1/payments", json=b, headers=h) for b, h in already_paid))
    assert sorted(r.status_code for r in results) == [201, 409], [r.text for r in results]
    assert "already paid" in next(r.json()["detail"] for r in results if r.status_code == 409)
    assert await _counts(app) == (2, 2)


async def test_payments_made_at_one_moment_are_paged_by_id(api: Any) -> None:
    app, client = api
    moments = [datetime(2020, 7, 1, 2, 0, 0, 123_456, tzinfo=UTC), datetime(2020, 7, 1, 2, 0, 0, 123_457, tzinfo=UTC)]
    paid = []
    for n, period in enumerate(["2020-01", "2020-02", "2020-03", "2020-04", "2020-05"]):
        app.dependency_overrides[request_time] = lambda n=n: moments[n % 2]
        r = await client.post("/v1/payments", json=_payment(period=period), headers=_keyed(f"page-{n}"))
        assert r.status_code == 201, r.text
        paid.append(r.json())
    items, pages = await walk(client, "/v1/payments", FINANCE, limit=2)
    expected = sorted(paid, key=lambda p: (datetime.fromisoformat(p["paid_at"]), p["id"]), reverse=True)
    assert ([p["id"] for p in items], pages) == ([p["id"] for p in expected], 3)


async def test_a_coverage_check_keeps_its_gaps_and_reads_them_back(api: Any) -> None:
    app, client = api
    for member in (UUID(int=12), UUID(int=11)):
        disability = MemberDisabilityRecorded(
            household_id=HOUSEHOLD, member_id=member, disability_type="visual", grade=1, certified_on=date(2019, 1, 1)
        )
        await apply_event(app, disability)
        await apply_event(app, disability)  # re-sent: entitled once
    body = {"policy_code": "disability_nursing_subsidy", "period": "2020-06", "area_code": "371523101"}
    r = await client.post("/v1/coverage-checks", json=body, headers=auth("inspector"))
    assert r.status_code == 201, r.text
    assert (r.json()["entitled_count"], r.json()["paid_count"], r.json()["gap_count"]) == (2, 0, 2)
    gaps, pages = await walk(client, f"/v1/coverage-checks/{r.json()['id']}/gaps", FINANCE, limit=1)
    assert ([g["member_id"] for g in gaps], pages) == ([str(UUID(int=11)), str(UUID(int=12))], 2)
    again = await client.get(f"/v1/coverage-checks/{r.json()['id']}", headers=FINANCE)
    assert again.status_code == 200 and again.json() == r.json()
    assert await _counts(app) == (0, 2)


async def test_incomes_distributed_before_receipts_were_kept_get_one(pg_database: MakeDb) -> None:
    url = await pg_database("subsidies")
    engine = create_engine(url)
    income_id, project_id = uuid4(), uuid4()
    try:

        def downgrade(connection: Any) -> None:
            cfg = alembic_config("subsidies")
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, "0002")

        def upgrade(connection: Any) -> None:
            cfg = alembic_config("subsidies")
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")

        async with engine.begin() as conn:
            await conn.run_sync(downgrade)
            for household, fen in ((UUID(int=1), 600), (UUID(int=2), 400)):
                await conn.execute(
                    insert(IncomeAllocation.__table__).values(  # type: ignore[attr-defined]
                        id=uuid4(),
                        income_id=income_id,
                        project_id=project_id,
                        household_id=household,
                        period="2020-06",
                        amount_fen=fen,
                        member_count=1,
                        allocated_at=utcnow(),
                    )
                )
            await conn.run_sync(upgrade)
        async with engine.connect() as conn:
            [receipt] = (await conn.execute(select(IncomeReceipt.__table__))).mappings().all()  # type: ignore[attr-defined]
        assert (receipt["income_id"], receipt["amount_fen"], receipt["household_count"]) == (income_id, 1_000, 2)
        assert receipt["status"] == "distributed"
    finally:
        await engine.dispose()


async def test_the_migrations_go_down_and_up_again(pg_database: MakeDb) -> None:
    url = await pg_database("subsidies")
    engine = create_engine(url)
    try:

        def down_and_up(connection: Any) -> None:
            cfg = alembic_config("subsidies")
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, "0001")
            command.upgrade(cfg, "head")

        async with engine.begin() as conn:
            await conn.run_sync(down_and_up)
        assert await is_at_head(engine, "subsidies")
    finally:
        await engine.dispose()


async def test_an_entitlement_kept_before_periods_begins_the_day_it_was_recorded_on_postgres(
    pg_database: MakeDb,
) -> None:
    kept = await entitlement_kept_before_periods(await pg_database("subsidies"))
    assert (kept.starts_on, kept.ends_on) == (date(2020, 3, 5), None)

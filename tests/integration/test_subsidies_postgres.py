"""The subsidies service on real PostgreSQL: payment retries racing on one Idempotency-Key (under the catalogue
seeded by 0008), a coverage check and its gaps, pages of payments, and the migrations: down to 0007 and up again
(never below it), the receipts they give incomes distributed before receipts were kept, and the facts 0007 keeps
from the open entitlement spans it drops."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from functools import partial
from typing import Any
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from services.subsidies.models import HouseholdFacts, MemberFacts, Payment, ProgrammeVersion
from services.subsidies.rules.report_catalogue import SEEDED_BY
from shared.api.clock import request_time
from shared.contracts.households import HouseholdRegistered, MemberDisabilityRecorded
from shared.db import create_engine
from shared.local.databases import ScratchDatabases
from shared.messaging.outbox import OutboxMessage
from shared.migrations import alembic_config, is_at_head
from shared.timeutil import utcnow
from tests.support import apply_event, auth, running_app
from tests.unit.test_projects_pages_and_retries import walk

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
    async with app.state.sessions() as s:
        seeded = await s.scalar(
            select(col(ProgrammeVersion.id)).where(
                col(ProgrammeVersion.programme_code) == "dibao", col(ProgrammeVersion.created_by) == SEEDED_BY
            )
        )
    for attempt in range(5):
        body, key = _payment(period=f"2020-0{attempt + 1}"), _keyed(f"race-{attempt}")
        results = await asyncio.gather(*(client.post("/v1/payments", json=body, headers=key) for _ in range(3)))
        assert sorted(r.status_code for r in results) == [200, 200, 201], [r.text for r in results]
        assert len({r.json()["id"] for r in results}) == 1
        assert {r.json()["version_id"] for r in results} == {str(seeded)}  # the standard 0008 seeded
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


# --- Migrations ---------------------------------------------------------------------------------------------------


@pytest.fixture
async def empty_database(postgres_admin_url: str) -> AsyncIterator[str]:
    """A new database no migration has run on."""
    databases = ScratchDatabases(postgres_admin_url)
    yield await databases.create("t_subsidies")
    await databases.drop_all()


async def _migrate(url: str, *steps: str, rows: dict[Any, list[dict[str, Any]]] | None = None) -> None:
    """Run alembic `steps` ("up:0006", "down:0007", ...) in one transaction, inserting `rows` after the first."""

    def run(step: str, connection: Any) -> None:
        cfg = alembic_config("subsidies")
        cfg.attributes["connection"] = connection
        direction, revision = step.split(":")
        (command.upgrade if direction == "up" else command.downgrade)(cfg, revision)

    async with _engine(url) as engine, engine.begin() as conn:
        first, *rest = steps
        await conn.run_sync(partial(run, first))
        for table, values in (rows or {}).items():
            await conn.execute(insert(table), values)
        for step in rest:
            await conn.run_sync(partial(run, step))


@asynccontextmanager
async def _engine(url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _rows(url: str, table: Any, *order_by: Any) -> list[dict[str, Any]]:
    async with _engine(url) as engine, engine.connect() as conn:
        return [dict(row) for row in (await conn.execute(select(table).order_by(*order_by))).mappings()]


async def test_incomes_distributed_before_receipts_were_kept_get_one(empty_database: str) -> None:
    income_id, project_id = uuid4(), uuid4()
    allocations = [
        {
            "id": uuid4(), "income_id": income_id, "project_id": project_id, "household_id": household,
            "period": "2020-06", "amount_fen": fen, "member_count": 1, "allocated_at": utcnow(),
        }
        for household, fen in ((UUID(int=1), 600), (UUID(int=2), 400))
    ]  # fmt: skip

    # The tables as 0002 and 0003 made them (0014 drops them with the distribution subsidies no longer makes).
    allocation = sa.table("incomeallocation", *(sa.column(name) for name in allocations[0]))
    await _migrate(empty_database, "up:0002", "up:0003", rows={allocation: allocations})

    income = sa.table("incomereceipt", *map(sa.column, ("income_id", "amount_fen", "household_count", "status")))
    [receipt] = await _rows(empty_database, income)
    assert (receipt["income_id"], receipt["amount_fen"], receipt["household_count"]) == (income_id, 1_000, 2)
    assert receipt["status"] == "distributed"


async def test_the_migrations_go_down_to_0007_and_up_again_and_never_below(pg_database: MakeDb) -> None:
    url = await pg_database("subsidies")
    await _migrate(url, "down:0007", "up:head")
    with pytest.raises(NotImplementedError, match="restore a backup"):
        await _migrate(url, "down:0006")
    async with _engine(url) as engine:
        assert await is_at_head(engine, "subsidies")  # the refused downgrade changed nothing


HOME, HELPED, WATCHED, LEFT = (UUID(int=n) for n in (1, 2, 3, 4))
NURSED, PUPIL, CARED, RECOVERED = (UUID(int=n) for n in (11, 12, 13, 14))
_EXPECTED_HOUSEHOLDS = [  # (household, 低保/特困 status, monitoring open) the spans left
    (HOME, "dibao", False), (HELPED, "extreme_poverty", False), (WATCHED, "none", True), (LEFT, "none", False),
]  # fmt: skip
_EXPECTED_MEMBERS = [  # (member, household, disability grade, enrolment)
    (NURSED, HOME, 2, None), (PUPIL, HOME, None, "enrolled"), (CARED, HELPED, 4, None), (RECOVERED, LEFT, None, None),
]  # fmt: skip


def _spans_of_0006() -> dict[Any, list[dict[str, Any]]]:
    """Households, members and entitlement spans as revision 0006 kept them: open spans of 低保, 特困供养, temporary
    assistance, the nursing subsidy and education aid; a member known only by an open span of the living subsidy;
    spans of 低保 and the nursing subsidy that ended."""
    at = datetime(2020, 3, 5, 2, tzinfo=UTC)
    households = sa.table(
        "eligiblehousehold", sa.column("household_id", sa.Uuid), sa.column("area_code", sa.String),
        sa.column("member_count", sa.Integer), sa.column("updated_at", sa.DateTime(timezone=True)),
    )  # fmt: skip
    members = sa.table("addedmember", sa.column("member_id", sa.Uuid), sa.column("household_id", sa.Uuid))
    spans = sa.table(
        "entitlement", sa.column("id", sa.Uuid), sa.column("household_id", sa.Uuid), sa.column("member_id", sa.Uuid),
        sa.column("policy_code", sa.String), sa.column("recorded_at", sa.DateTime(timezone=True)),
        sa.column("starts_on", sa.Date), sa.column("ends_on", sa.Date),
    )  # fmt: skip

    def span(household: UUID, member: UUID | None, code: str, ends_on: date | None = None) -> dict[str, Any]:
        return {
            "id": uuid4(), "household_id": household, "member_id": member, "policy_code": code, "recorded_at": at,
            "starts_on": date(2020, 3, 5), "ends_on": ends_on,
        }  # fmt: skip

    ended = date(2020, 5, 31)
    return {
        households: [
            {"household_id": h, "area_code": "371523101201", "member_count": 3, "updated_at": at}
            for h in (HOME, HELPED, WATCHED, LEFT)
        ],
        members: [{"member_id": m, "household_id": h} for m, h in ((NURSED, HOME), (PUPIL, HOME), (RECOVERED, LEFT))],
        spans: [
            span(HOME, None, "dibao"), span(HELPED, None, "extreme_poverty_support"),
            span(WATCHED, None, "temporary_assistance"), span(LEFT, None, "dibao", ended),
            span(HOME, NURSED, "disability_nursing_subsidy"), span(HOME, PUPIL, "education_aid"),
            span(HELPED, CARED, "disability_living_subsidy"),
            span(LEFT, RECOVERED, "disability_nursing_subsidy", ended),
        ],
    }  # fmt: skip


async def test_0007_carries_the_open_entitlement_spans_into_facts(empty_database: str) -> None:
    await _migrate(empty_database, "up:0006", "up:head", rows=_spans_of_0006())

    households = await _rows(empty_database, HouseholdFacts.__table__, "household_id")  # type: ignore[attr-defined]
    members = await _rows(empty_database, MemberFacts.__table__, "member_id")  # type: ignore[attr-defined]

    assert [(h["household_id"], h["allowance"], h["monitoring_open"]) for h in households] == _EXPECTED_HOUSEHOLDS
    assert {(h["status"], h["member_count"], h["area_code"]) for h in households} == {("in_poverty", 3, "371523101201")}
    assert [(m["member_id"], m["household_id"], m["disability_grade"], m["enrolment"]) for m in members] == (
        _EXPECTED_MEMBERS
    )
    async with _engine(empty_database) as engine, engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
    assert not tables & {"entitlement", "eligiblehousehold", "addedmember"}

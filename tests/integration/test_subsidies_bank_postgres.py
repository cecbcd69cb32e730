"""Payees, batches and bank files on real PostgreSQL: builds racing on one cycle, accounts recorded at once for one
holder, the live-line index, and a cycle of 100,000 entitlements batched and exported within 30 s each."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from services.subsidies.models import BatchLine, CycleEntitlement, HouseholdFacts, Payee
from services.subsidies.rules.bank_file import EXPORT_HEADER
from tests.support import running_app
from tests.unit.test_subsidies_batches import (
    EXPORT,
    FINANCE,
    H,
    account_of,
    add_payee,
    build,
    lines_of,
    seed_cycle,
    settle,
)

pytestmark = pytest.mark.integration
MakeDb = Callable[[str], Awaitable[str]]
AT = datetime(2020, 7, 1, 8, tzinfo=UTC)
LATER = datetime(2020, 7, 20, 8, tzinfo=UTC)
BULK = 20_000  # several chunks of every bulk step; the 100,000-entitlement timings are bench/subsidies_cycle.py's


@pytest.fixture
async def api(pg_database: MakeDb) -> Any:
    async with running_app("subsidies", await pg_database("subsidies")) as (app, client):
        yield app, client


async def _live_lines_per_entitlement(app: Any) -> list[int]:
    async with app.state.sessions() as s:
        stmt = (
            select(func.count())
            .select_from(BatchLine)
            .where(col(BatchLine.status).in_(["pending", "paid"]))
            .group_by(col(BatchLine.entitlement_id))
        )
        return list((await s.scalars(stmt)).all())


async def test_the_whole_round_failed_corrected_followed_up_and_exported_alike(api: Any) -> None:
    app, client = api
    cycle_id = await seed_cycle(app)
    for n, household in enumerate(H[:4], 1):
        await add_payee(client, household, n)
    first = (await build(client, cycle_id)).json()
    lines = await lines_of(client, first["id"])
    await settle(app, lines[0]["id"], "failed", "account_closed")
    for line in lines[1:]:
        await settle(app, line["id"], "paid")
    export = await client.post(f"/v1/batches/{first['id']}/bank-file", json=EXPORT, headers=FINANCE)
    assert export.status_code == 200
    await add_payee(client, UUID(lines[0]["household_id"]), 1, version=1)
    follow_up = (await build(client, cycle_id)).json()
    assert (follow_up["sequence"], follow_up["line_count"]) == (2, 1)
    again = await client.post(f"/v1/batches/{first['id']}/bank-file", json=EXPORT, headers=FINANCE)
    assert again.content == export.content and again.headers["x-checksum-sha256"] == export.headers["x-checksum-sha256"]
    assert await _live_lines_per_entitlement(app) == [1, 1, 1, 1]


async def test_builds_racing_on_one_cycle_make_one_batch(api: Any) -> None:
    app, client = api
    cycle_id = await seed_cycle(app)
    for n, household in enumerate(H[:4], 1):
        await add_payee(client, household, n)
    answers = await asyncio.gather(*(build(client, cycle_id) for _ in range(4)))
    assert sorted(r.status_code for r in answers) == [201, 422, 422, 422]
    assert {r.json()["errors"][0]["code"] for r in answers if r.status_code == 422} == {"nothing_to_pay"}
    assert await _live_lines_per_entitlement(app) == [1, 1, 1, 1]


async def test_the_database_refuses_a_second_live_line_for_an_entitlement(api: Any) -> None:
    app, client = api
    cycle_id = await seed_cycle(app, entitlements={H[0]: 25_800})
    await add_payee(client, H[0], 1)
    [line] = await lines_of(client, (await build(client, cycle_id)).json()["id"])
    second = {
        "batch_id": uuid4(), "line_no": 1, "entitlement_id": UUID(line["entitlement_id"]),
        "payee_id": UUID(line["payee"]["id"]), "amount_fen": 25_800,
    }  # fmt: skip
    for status in ("pending", "paid"):
        with pytest.raises(IntegrityError, match="uq_batchline_entitlement_live"):
            async with app.state.sessions() as s, s.begin():
                await s.execute(insert(BatchLine), [{**second, "id": uuid4(), "status": status}])
    await settle(app, line["id"], "failed", "account_frozen")
    async with app.state.sessions() as s, s.begin():  # a failed line is not live: a new line may be written
        await s.execute(insert(BatchLine), [{**second, "id": uuid4(), "status": "pending"}])


async def test_accounts_recorded_at_once_for_one_holder_leave_one_in_use(api: Any) -> None:
    app, client = api
    await seed_cycle(app)
    answers = await asyncio.gather(*(add_payee(client, H[0], 1, version=v) for v in range(5)))
    assert len({a["id"] for a in answers}) == 5
    async with app.state.sessions() as s:
        in_use = await s.scalar(
            select(func.count())
            .select_from(Payee)
            .where(col(Payee.household_id) == H[0], col(Payee.replaced_at).is_(None))
        )
    assert in_use == 1


async def _seed_bulk(app: Any, cycle_id: UUID, count: int) -> None:
    """`count` households, each listed and with an account in use, written in bulk."""
    vault = app.state.runtime.settings.payee_vault()
    households = [uuid4() for _ in range(count)]
    facts: list[dict[str, Any]] = []
    entitlements: list[dict[str, Any]] = []
    payees: list[dict[str, Any]] = []
    for n, household in enumerate(households):
        area = f"371523{101 + n % 5:03d}{201 + n % 20:03d}"
        facts.append({"household_id": household, "area_code": area, "member_count": 2, "updated_at": AT})
        entitlements.append(
            {
                "id": uuid4(), "cycle_id": cycle_id, "household_id": household, "member_id": None, "holder_key": "-",
                "area_code": area, "amount_fen": 25_800 + n % 7, "version_id": cycle_id, "status": "listed",
                "facts": {}, "explanation": [],
            }
        )  # fmt: skip
        payee_id = uuid4()
        sealed = vault.seal(account_of(n), "张三", payee_id=payee_id)
        payees.append(
            {
                "id": payee_id, "household_id": household, "member_id": None, "holder_key": "-", "bank_code": "RCC",
                "account_kid": sealed.kid, "account_ciphertext": sealed.account_ciphertext,
                "account_hash": sealed.account_hash, "account_masked": sealed.account_masked,
                "holder_name_ciphertext": sealed.holder_name_ciphertext,
                "holder_name_masked": sealed.holder_name_masked, "holder_member_id": None, "recorded_by": "seed",
                "recorded_at": AT,
            }
        )  # fmt: skip
    async with app.state.sessions() as s, s.begin():
        for table, rows in ((HouseholdFacts, facts), (CycleEntitlement, entitlements), (Payee, payees)):
            for start in range(0, count, 10_000):
                await s.execute(insert(table), rows[start : start + 10_000])
    async with app.state.sessions() as s, s.begin():  # the lines table known empty, as on a new deployment
        await s.execute(text("ANALYZE batchline"))


async def test_a_large_cycle_is_batched_exported_and_followed_up_with_one_live_line_each(api: Any) -> None:
    app, client = api
    cycle_id = await seed_cycle(app, entitlements={})
    await _seed_bulk(app, cycle_id, BULK)
    built = await build(client, cycle_id)
    assert built.status_code == 201, built.text
    assert (built.json()["line_count"], built.json()["awaiting_count"]) == (BULK, 0)
    exported = await client.post(f"/v1/batches/{built.json()['id']}/bank-file", json=EXPORT, headers=FINANCE)
    assert exported.status_code == 200
    rows = exported.content.decode("gbk").split("\r\n")
    assert rows[0] == ",".join(EXPORT_HEADER) and len(rows) == BULK + 2 and rows[-1] == ""
    failed = await _fail_every_fiftieth_line(app)
    await _correct_accounts(app, failed)
    follow_up = await build(client, cycle_id)
    assert (follow_up.json()["sequence"], follow_up.json()["line_count"]) == (2, BULK // 50)
    assert set(await _live_lines_per_entitlement(app)) == {1}
    again = await client.post(f"/v1/batches/{follow_up.json()['id']}/bank-file", json=EXPORT, headers=FINANCE)
    assert again.status_code == 200 and again.content.count(b"\r\n") == BULK // 50 + 1


async def _fail_every_fiftieth_line(app: Any) -> list[UUID]:
    """The bank's result, as reconciling it leaves the lines: 2 % failed, the rest paid. The failed households."""
    fiftieth = col(BatchLine.line_no) % 50 == 0
    async with app.state.sessions() as s, s.begin():
        await s.execute(update(BatchLine).where(fiftieth).values(status="failed", bank_reason="account_closed"))
        await s.execute(update(BatchLine).where(col(BatchLine.status) == "pending").values(status="paid"))
        stmt = select(col(CycleEntitlement.household_id)).join(
            BatchLine, col(BatchLine.entitlement_id) == col(CycleEntitlement.id)
        )
        return list((await s.scalars(stmt.where(col(BatchLine.status) == "failed"))).all())


async def _correct_accounts(app: Any, households: list[UUID]) -> None:
    """A corrected account for each household, replacing its account in use."""
    vault = app.state.runtime.settings.payee_vault()
    corrected = []
    for n, household in enumerate(households):
        payee_id = uuid4()
        sealed = vault.seal(account_of(n, version=1), "张三", payee_id=payee_id)
        corrected.append(
            {
                "id": payee_id, "household_id": household, "holder_key": "-", "bank_code": "RCC",
                "account_kid": sealed.kid, "account_ciphertext": sealed.account_ciphertext,
                "account_hash": sealed.account_hash, "account_masked": sealed.account_masked,
                "holder_name_ciphertext": sealed.holder_name_ciphertext,
                "holder_name_masked": sealed.holder_name_masked, "recorded_by": "seed", "recorded_at": LATER,
            }
        )  # fmt: skip
    async with app.state.sessions() as s, s.begin():
        await s.execute(update(Payee).where(col(Payee.household_id).in_(households)).values(replaced_at=LATER))
        await s.execute(insert(Payee), corrected)

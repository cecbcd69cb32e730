"""Leakage and coverage checks on real PostgreSQL: every leak kind, checks racing on the same leaks (kept and
published once), scheduled checks racing on the same cycles (each checked once), and a period of more payments than
one chunk."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import insert, select
from sqlmodel import col

from services.subsidies.domain import leakage, schedule
from services.subsidies.models import CoverageCheck, FactChange, HouseholdFacts, Leak, Payment
from shared.contracts.households import MinimumAllowance
from tests.support import auth, running_app
from tests.unit.test_subsidies_coverage import (
    AREAS,
    DIBAO_FEN,
    FINANCE,
    HOUSEHOLD_A,
    HOUSEHOLD_B,
    HOUSEHOLD_C,
    HOUSEHOLD_FAR,
    MEMBER_1,
    MEMBER_2,
    MEMBER_3,
    add_members,
    count,
    died,
    exit_without_policies,
    install_catalogue,
    on_allowance,
    outbox,
    pay,
    register,
)
from tests.unit.test_subsidies_leakage import (
    HOURLY,
    LEAK_FOUND,
    NOW,
    _check,
    _cycle,
    _found,
    _leaks,
    _paid_by_bank,
    _payee,
)

pytestmark = pytest.mark.integration
MakeDb = Callable[[str], Awaitable[str]]


@pytest.fixture
async def api(pg_database: MakeDb) -> Any:
    async with running_app("subsidies", await pg_database("subsidies")) as (app, client):
        await install_catalogue(app)
        for household_id, area_code in AREAS.items():
            await register(app, household_id, area_code)
        yield app, client


async def test_every_kind_of_leak_on_postgresql(api: Any) -> None:
    app, client = api
    await add_members(app, HOUSEHOLD_A, (MEMBER_1, date(1950, 1, 1)))
    await add_members(app, HOUSEHOLD_B, (MEMBER_2, date(1952, 1, 1)))
    await add_members(app, HOUSEHOLD_C, (MEMBER_3, date(1954, 1, 1)))
    for household_id in (HOUSEHOLD_A, HOUSEHOLD_B, HOUSEHOLD_FAR):
        await on_allowance(app, household_id, MinimumAllowance.DIBAO)
    await exit_without_policies(app, HOUSEHOLD_FAR, since=date(2020, 3, 1))
    a = await _paid_by_bank(app, HOUSEHOLD_A, DIBAO_FEN, await _payee(app, HOUSEHOLD_A, "hash-1", MEMBER_1))
    b = await _paid_by_bank(app, HOUSEHOLD_B, 2 * DIBAO_FEN, await _payee(app, HOUSEHOLD_B, "hash-1", MEMBER_2))
    c = await _paid_by_bank(app, HOUSEHOLD_C, DIBAO_FEN, await _payee(app, HOUSEHOLD_C, "hash-2", MEMBER_1))
    far = await pay(client, HOUSEHOLD_FAR, DIBAO_FEN)
    await died(app, HOUSEHOLD_A, MEMBER_1, date(2019, 12, 1))
    pension = await _paid_by_bank(app, HOUSEHOLD_A, 10_000, None, policy_code="pension_premium_subsidy",
                                  period="2020", member_id=MEMBER_1, holder_key=str(MEMBER_1))  # fmt: skip
    june = await _check(client)
    year = await _check(client, policy_code="pension_premium_subsidy", period="2020")
    assert _found(await _leaks(client, june)) == {
        (str(a), "shared_account"),
        (str(a), "paid_after_death"),  # its one member died before June: nobody living to pay for
        (str(b), "shared_account"),
        (str(b), "wrong_amount"),
        (str(c), "paid_not_entitled"),
        (str(c), "holder_outside_household"),  # in the name of a member of another household
        (far["id"], "paid_after_exit"),
    }
    assert _found(await _leaks(client, year)) == {(str(pension), "paid_after_death")}
    assert len(await outbox(app, LEAK_FOUND)) == 8


async def test_checks_racing_on_the_same_leaks_keep_and_publish_each_once(api: Any) -> None:
    app, client = api
    for household_id in AREAS:
        await pay(client, household_id, DIBAO_FEN)  # none of them on 低保
    checkers = [auth("finance_officer", sub=f"cashier-{n}") for n in range(3)]
    results = await asyncio.gather(
        *(client.post("/v1/leakage-checks", json={"period": "2020-06"}, headers=h) for h in checkers)
    )
    assert [r.status_code for r in results] == [201, 201, 201], [r.text for r in results]
    assert sum(r.json()["leak_count"] for r in results) == 4
    assert (await count(app, Leak), len(await outbox(app, LEAK_FOUND))) == (4, 4)


async def test_scheduled_runs_racing_check_each_cycle_once(api: Any) -> None:
    app, client = api
    await on_allowance(app, HOUSEHOLD_B, MinimumAllowance.DIBAO)
    await pay(client, HOUSEHOLD_A, DIBAO_FEN)
    cycles = {await _cycle(app, "paid"), await _cycle(app, "closed", period="2020-05")}
    runs = await asyncio.gather(
        *(schedule.run_cycle_checks(app.state.sessions, now=NOW, cadence=HOURLY) for _ in range(3))
    )
    assert (sum(r.cycles for r in runs), sum(r.leaks for r in runs), sum(r.failed for r in runs)) == (2, 1, 0)
    async with app.state.sessions() as s:
        checked = (await s.scalars(select(col(CoverageCheck.cycle_id)))).all()
    assert sorted(checked) == sorted(cycles)


async def test_a_period_of_more_payments_than_a_chunk(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app, client = api
    monkeypatch.setattr(leakage, "CHUNK", 40)
    households = [uuid4() for _ in range(100)]
    async with app.state.sessions() as s, s.begin():
        await s.execute(
            insert(HouseholdFacts),
            [
                {"household_id": h, "area_code": "371523101201", "member_count": 1, "risk_kinds": [],
                 "allowance": "dibao" if n % 2 else "none", "updated_at": NOW}
                for n, h in enumerate(households)
            ],
        )  # fmt: skip
        await s.execute(
            insert(FactChange),
            [
                {"household_id": h, "holder_key": "-", "fact": "household.allowance", "since": date(2019, 1, 1),
                 "member_id": None, "value": "dibao", "recorded_at": NOW}
                for h in households[1::2]
            ],
        )  # fmt: skip
        await s.execute(
            insert(Payment),
            [
                {"id": uuid4(), "household_id": h, "holder_key": "-", "policy_code": "dibao", "period": "2020-06",
                 "amount_fen": DIBAO_FEN, "idempotency_key": f"bulk-{h}", "status": "paid", "member_count": 1,
                 "area_code": "371523101201", "paid_by": "cashier-1", "paid_at": NOW}
                for h in households
            ],
        )  # fmt: skip
    check = await _check(client)
    assert (check["payment_count"], check["leak_count"]) == (100, 50)
    leaks = await _leaks(client, check)
    assert {UUID(leak["household_id"]) for leak in leaks} == set(households[0::2])
    r = await client.post("/v1/coverage-checks", json={"policy_code": "dibao", "period": "2020-06"}, headers=FINANCE)
    assert (r.json()["entitled_count"], r.json()["gap_count"]) == (50, 0)

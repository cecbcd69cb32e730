"""A holder is paid once whichever way the money goes, on a migrated SQLite file, through the API from an approved
cycle of the catalogue's 低保: a batch leaves out holders paid by hand, a payment by hand waits for a live bank line,
a bank payment reversed by hand (冲正) is paid again by a follow-up into the same account, one recovered (追回) is never
paid again, and a line the bank pays twice is a duplicate disbursement found by the result file's import."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest
from fastapi import FastAPI
from httpx import AsyncClient, Response
from sqlalchemy import func, insert, select
from sqlmodel import col

from services.subsidies.models import BatchLine, CycleEntitlement, Leak, Payment
from services.subsidies.rules.bank_file import RESULT_HEADER, yuan
from shared.api.clock import request_time
from shared.contracts.households import HouseholdRegistered, MinimumAllowanceChanged
from shared.messaging.outbox import OutboxMessage
from tests.support import apply_event, assert_problem, auth, running_app

FINANCE = auth("finance_officer", sub="cashier-1")
CLERK = auth("finance_officer", sub="clerk")
DIRECTOR = auth("district_office", sub="director")
VILLAGE = "371523101201"
H = [UUID(int=500 + n) for n in range(3)]
DIBAO_FEN = 25_800  # the seeded standard, per living member: each household here has one
PAID_ON = "2020-06-09"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2020, 6, 2, 2, tzinfo=UTC)  # 10:00 in the district

    def on(self, day: date) -> None:
        self.now = datetime(day.year, day.month, day.day, 2, tzinfo=UTC)


@asynccontextmanager
async def paying_app(url: str) -> AsyncIterator[tuple[FastAPI, AsyncClient, Clock]]:
    """The service with three households on 低保 since 2019, 2020's 低保 funds allocated, its clock on 2 June 2020."""
    clock = Clock()
    async with running_app("subsidies", url) as (app, client):
        app.dependency_overrides[request_time] = lambda: clock.now
        for n, household in enumerate(H):
            registered = HouseholdRegistered(
                household_id=household, household_code=f"CP-{n}", area_code=VILLAGE, member_count=1
            )
            await apply_event(app, registered)
            allowance = MinimumAllowanceChanged(household_id=household, status="dibao", effective_on=date(2019, 1, 1))
            await apply_event(app, allowance)
        fund = {"year": 2020, "amount_fen": 10_000_000, "source": "鲁财社〔2020〕1号"}
        assert (await client.post("/v1/programmes/dibao/funds", json=fund, headers=DIRECTOR)).status_code == 201
        yield app, client, clock


@pytest.fixture
async def api(sqlite_url: Any) -> AsyncIterator[tuple[FastAPI, AsyncClient, Clock]]:
    async with paying_app(await sqlite_url("subsidies")) as running:
        yield running


async def approved_cycle(client: AsyncClient, clock: Clock) -> str:
    """June 2020's 低保 cycle, computed, on notice for a week, submitted and approved; the clock on 9 June."""
    r = await client.post("/v1/cycles", json={"programme_code": "dibao", "period": "2020-06"}, headers=CLERK)
    assert r.status_code == 201, r.text
    cycle = f"/v1/cycles/{r.json()['id']}"
    assert (await client.post(f"{cycle}/compute", headers=CLERK)).json()["entitled_count"] == len(H)
    notice = {"starts_on": "2020-06-02", "ends_on": "2020-06-08"}
    assert (await client.post(f"{cycle}/notice", json=notice, headers=CLERK)).status_code == 200
    clock.on(date(2020, 6, 9))
    assert (await client.post(f"{cycle}/submit", headers=FINANCE)).status_code == 200
    approved = await client.post(f"{cycle}/approve", headers=DIRECTOR)
    assert approved.status_code == 200, approved.text
    return str(r.json()["id"])


async def add_payee(client: AsyncClient, household: UUID, account: str) -> str:
    body = {"bank_code": "RCC3715", "account_no": account, "holder_name": "张三"}
    r = await client.post(f"/v1/households/{household}/payees", json=body, headers=FINANCE)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def accounts(client: AsyncClient) -> dict[UUID, str]:
    """An account in use for each household: its payee id."""
    return {h: await add_payee(client, h, f"62170000{n:010d}") for n, h in enumerate(H)}


async def build(client: AsyncClient, cycle_id: str) -> Response:
    return await client.post(f"/v1/cycles/{cycle_id}/batches", headers=FINANCE)


async def exported_batch(client: AsyncClient, cycle_id: str) -> tuple[str, dict[UUID, dict[str, Any]]]:
    """The cycle's next batch, built and its file exported: its id, and its lines by household."""
    r = await build(client, cycle_id)
    assert r.status_code == 201, r.text
    batch_id = r.json()["id"]
    body = {"encoding": "utf-8", "reason": "2020年6月低保代发"}
    assert (await client.post(f"/v1/batches/{batch_id}/bank-file", json=body, headers=FINANCE)).status_code == 200
    return batch_id, await lines_of(client, batch_id)


async def lines_of(client: AsyncClient, batch_id: str) -> dict[UUID, dict[str, Any]]:
    r = await client.get(f"/v1/batches/{batch_id}/lines?limit=100", headers=FINANCE)
    return {UUID(line["household_id"]): line for line in r.json()["items"]}


def result_file(rows: list[tuple[dict[str, Any], str, str, str]], day: str = PAID_ON) -> bytes:
    """The bank's result: (line, status, reason, bank serial) each, settled on `day`."""
    text = [",".join(RESULT_HEADER)] + [
        f"{line['line_no']},{line['id']},{yuan(line['amount_fen'])},{status},{reason},{serial},{day}"
        for line, status, reason, serial in rows
    ]
    return "\r\n".join([*text, ""]).encode()


def all_paid(lines: dict[UUID, dict[str, Any]]) -> bytes:
    return result_file([(line, "paid", "", f"B{line['line_no']:04d}") for line in lines.values()])


async def import_file(client: AsyncClient, batch_id: str, data: bytes) -> Response:
    headers = {**FINANCE, "content-type": "text/csv"}
    return await client.post(f"/v1/batches/{batch_id}/bank-results", content=data, headers=headers)


async def pay_by_hand(client: AsyncClient, household: UUID, key: str) -> Response:
    body = {"household_id": str(household), "policy_code": "dibao", "period": "2020-06", "amount_fen": DIBAO_FEN}
    return await client.post("/v1/payments", json=body, headers={**FINANCE, "Idempotency-Key": key})


async def correct(client: AsyncClient, payment_id: str, kind: str, headers: dict[str, str] = FINANCE) -> Response:
    body = {
        "kind": kind,
        "reason": "银行冲正: 款项未到账" if kind == "reversal" else "户籍核查: 已迁出本区",
        "amount_fen": DIBAO_FEN,
    }
    return await client.post(f"/v1/payments/{payment_id}/corrections", json=body, headers=headers)


async def payments_of(client: AsyncClient, household: UUID) -> list[dict[str, Any]]:
    r = await client.get(f"/v1/payments?household_id={household}", headers=FINANCE)
    return list(r.json()["items"])


async def awaiting(client: AsyncClient, cycle_id: str) -> dict[UUID, str]:
    r = await client.get(f"/v1/cycles/{cycle_id}/awaiting-batch", headers=FINANCE)
    return {UUID(item["household_id"]): item["reason"] for item in r.json()["items"]}


async def count(app: FastAPI, model: Any) -> int:
    async with app.state.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def events(app: FastAPI, kind: str) -> list[dict[str, Any]]:
    async with app.state.sessions() as s:
        rows = await s.scalars(select(OutboxMessage).order_by(col(OutboxMessage.id)))
        return [json.loads(m.payload) for m in rows.all() if m.event_type.endswith(f".{kind}.v1")]


# --- Paid by hand, paid by the bank: never both ---------------------------------------------------------------


async def test_a_holder_paid_by_hand_is_left_out_of_the_batch_until_that_payment_is_reversed(api: Any) -> None:
    _, client, clock = api
    cycle_id = await approved_cycle(client, clock)
    await accounts(client)
    by_hand = await pay_by_hand(client, H[0], "hand-0")
    assert by_hand.status_code == 201, by_hand.text

    first = await build(client, cycle_id)

    assert first.status_code == 201, first.text
    assert (first.json()["line_count"], first.json()["awaiting_count"]) == (2, 0)
    assert set(await lines_of(client, first.json()["id"])) == {H[1], H[2]}
    assert await awaiting(client, cycle_id) == {}  # nothing awaits a batch for the holder paid by hand
    assert (await correct(client, by_hand.json()["id"], "reversal")).status_code == 201
    assert await awaiting(client, cycle_id) == {H[0]: "ready"}
    follow_up = await build(client, cycle_id)
    assert follow_up.status_code == 201, follow_up.text
    assert set(await lines_of(client, follow_up.json()["id"])) == {H[0]}


async def test_a_cycle_whose_other_holders_the_bank_paid_is_paid_with_the_one_paid_by_hand(api: Any) -> None:
    _, client, clock = api
    cycle_id = await approved_cycle(client, clock)
    await accounts(client)
    assert (await pay_by_hand(client, H[0], "hand-0")).status_code == 201
    batch_id, lines = await exported_batch(client, cycle_id)

    assert (await import_file(client, batch_id, all_paid(lines))).status_code == 200

    cycle = await client.get(f"/v1/cycles/{cycle_id}", headers=FINANCE)
    assert cycle.json()["status"] == "paid", cycle.text


async def test_a_payment_by_hand_is_refused_while_the_holders_bank_line_is_pending_or_paid(api: Any) -> None:
    app, client, clock = api
    cycle_id = await approved_cycle(client, clock)
    await accounts(client)
    batch_id, lines = await exported_batch(client, cycle_id)

    pending = await pay_by_hand(client, H[0], "hand-0")

    assert assert_problem(pending, 409)["code"] == "bank_line_live"
    assert await count(app, Payment) == 0 and await events(app, "subsidy_paid") == []
    result = result_file([(lines[H[0]], "failed", "account_closed", ""), (lines[H[1]], "paid", "", "B0002")])
    assert (await import_file(client, batch_id, result)).status_code == 200
    assert assert_problem(await pay_by_hand(client, H[1], "hand-1"), 409)["code"] == "bank_line_live"  # paid
    assert (await pay_by_hand(client, H[0], "hand-0")).status_code == 201  # its line failed: the bank paid nothing
    await add_payee(client, H[0], "622800000000000500")  # the account corrected: still nothing to pay it again
    assert (
        assert_problem(await build(client, cycle_id), 422)["errors"][0]["code"] == "nothing_to_pay"
    )  # H[2]'s line pending


async def test_a_bank_line_paid_for_a_holder_paid_by_hand_meanwhile_waits_until_that_payment_is_reversed(
    api: Any,
) -> None:
    app, client, clock = api
    cycle_id = await approved_cycle(client, clock)
    await accounts(client)
    batch_id, lines = await exported_batch(client, cycle_id)
    async with app.state.sessions() as s, s.begin():  # a payment by hand that raced the batch's build
        await s.execute(
            insert(Payment).values(
                household_id=H[0], holder_key="-", policy_code="dibao", period="2020-06", amount_fen=DIBAO_FEN,
                idempotency_key="raced", member_count=1, area_code=VILLAGE, paid_by="cashier-2",
                paid_at=clock.now, status="paid",
            )
        )  # fmt: skip
    raced = (await payments_of(client, H[0]))[0]

    refused = await import_file(client, batch_id, all_paid(lines))

    assert [(e["field"], e["code"]) for e in assert_problem(refused, 422)["errors"]] == [
        (f"line {lines[H[0]]['line_no'] + 1}", "holder_paid_by_hand")
    ]
    assert (await correct(client, raced["id"], "reversal")).status_code == 201  # a reversed payment blocks nothing
    imported = await import_file(client, batch_id, all_paid(lines))
    assert imported.status_code == 200, imported.text
    assert sorted(p["status"] for p in await payments_of(client, H[0])) == ["paid", "reversed"]


# --- A bank payment corrected by hand -------------------------------------------------------------------------


async def test_a_bank_payment_reversed_by_hand_is_paid_again_by_a_follow_up_into_the_same_account(api: Any) -> None:
    app, client, clock = api
    cycle_id = await approved_cycle(client, clock)
    payees = await accounts(client)
    batch_id, lines = await exported_batch(client, cycle_id)
    assert (await import_file(client, batch_id, all_paid(lines))).status_code == 200
    [paid] = await payments_of(client, H[0])

    assert (await correct(client, paid["id"], "reversal")).status_code == 201

    assert (await lines_of(client, batch_id))[H[0]]["status"] == "reversed"
    assert await awaiting(client, cycle_id) == {H[0]: "ready"}  # a reversal is no account problem
    clock.on(date(2020, 6, 12))
    later = result_file([(lines[H[0]], "returned", "account_frozen", "")], day="2020-06-12")
    returned = await import_file(client, batch_id, later)  # the bank's own return of that line, afterwards
    assert returned.status_code == 200, returned.text
    assert (await lines_of(client, batch_id))[H[0]]["status"] == "reversed"
    assert len(await events(app, "payment_corrected")) == 1  # the reversal's only
    follow_up, again = await exported_batch(client, cycle_id)
    assert set(again) == {H[0]} and again[H[0]]["payee"]["id"] == payees[H[0]]
    imported = await import_file(client, follow_up, result_file([(again[H[0]], "paid", "", "B9001")], "2020-06-12"))
    assert imported.status_code == 200, imported.text
    assert [p["status"] for p in await payments_of(client, H[0])] == ["paid", "reversed"]
    assert (await client.get(f"/v1/cycles/{cycle_id}", headers=FINANCE)).json()["status"] == "paid"


async def test_a_recovered_bank_payment_withdraws_its_entitlement_for_good(api: Any) -> None:
    app, client, clock = api
    cycle_id = await approved_cycle(client, clock)
    await accounts(client)
    batch_id, lines = await exported_batch(client, cycle_id)
    assert (await import_file(client, batch_id, all_paid(lines))).status_code == 200
    [paid] = await payments_of(client, H[1])

    assert (await correct(client, paid["id"], "recovery", DIRECTOR)).status_code == 201

    async with app.state.sessions() as s:
        entitlement = (
            await s.scalars(select(CycleEntitlement).where(col(CycleEntitlement.household_id) == H[1]))
        ).one()
        line = (await s.scalars(select(BatchLine).where(col(BatchLine.entitlement_id) == entitlement.id))).one()
    assert entitlement.status == "withdrawn" and f"payment {paid['id']} was recovered" in str(
        entitlement.withdrawn_reason
    )
    assert line.status == "paid"  # the bank did pay it; the money was taken back since
    cycle = (await client.get(f"/v1/cycles/{cycle_id}", headers=FINANCE)).json()
    assert (cycle["entitled_count"], cycle["total_fen"]) == (2, 2 * DIBAO_FEN)
    assert await awaiting(client, cycle_id) == {}
    assert assert_problem(await build(client, cycle_id), 422)["errors"][0]["code"] == "nothing_to_pay"


async def test_the_banks_return_of_a_recovered_payment_changes_nothing_and_the_files_other_lines_are_imported(
    api: Any,
) -> None:
    app, client, clock = api
    cycle_id = await approved_cycle(client, clock)
    await accounts(client)
    batch_id, lines = await exported_batch(client, cycle_id)
    first = result_file([(lines[H[0]], "paid", "", "B0001"), (lines[H[1]], "paid", "", "B0002")])
    assert (await import_file(client, batch_id, first)).status_code == 200
    [recovered] = await payments_of(client, H[1])
    assert (await correct(client, recovered["id"], "recovery", DIRECTOR)).status_code == 201
    clock.on(date(2020, 6, 12))
    later = [(lines[H[1]], "returned", "account_closed", ""), (lines[H[2]], "paid", "", "B0003")]

    imported = await import_file(client, batch_id, result_file(later, day="2020-06-12"))

    assert imported.status_code == 200, imported.text
    assert (imported.json()["paid_count"], imported.json()["returned_count"]) == (1, 1)  # as the bank reported them
    assert [p["status"] for p in await payments_of(client, H[1])] == ["recovered"]  # nothing left to reverse
    assert (await lines_of(client, batch_id))[H[1]]["status"] == "paid"
    assert len(await events(app, "payment_corrected")) == 1  # the recovery's only
    assert [p["status"] for p in await payments_of(client, H[2])] == ["paid"]
    cycle = (await client.get(f"/v1/cycles/{cycle_id}", headers=FINANCE)).json()
    assert (cycle["status"], cycle["entitled_count"]) == ("paid", 2)


# --- The bank pays a line twice -------------------------------------------------------------------------------


async def test_a_line_the_bank_reports_paid_again_under_another_serial_is_a_duplicate_disbursement(api: Any) -> None:
    await bank_pays_a_line_twice(*api)


async def bank_pays_a_line_twice(app: FastAPI, client: AsyncClient, clock: Clock) -> None:
    """Shared with the PostgreSQL test."""
    cycle_id = await approved_cycle(client, clock)
    await accounts(client)
    batch_id, lines = await exported_batch(client, cycle_id)
    assert (await import_file(client, batch_id, all_paid(lines))).status_code == 200
    clock.on(date(2020, 6, 12))
    line = lines[H[0]]
    [payment] = await payments_of(client, H[0])

    again = await import_file(client, batch_id, result_file([(line, "paid", "", "DUP-0001")], day="2020-06-12"))

    assert again.status_code == 200, again.text
    assert (again.json()["paid_count"], again.json()["duplicate_count"]) == (0, 1)
    stored = (await lines_of(client, batch_id))[H[0]]
    assert (stored["status"], stored["bank_reference"], stored["settled_on"]) == ("paid", "B0001", PAID_ON)
    assert await payments_of(client, H[0]) == [payment]  # paid once in the books; the bank paid twice
    async with app.state.sessions() as s:
        [leak] = (await s.scalars(select(Leak))).all()
    assert (leak.kind, leak.payment_id, leak.check_id) == (
        "duplicate_disbursement",
        UUID(payment["id"]),
        UUID(again.json()["id"]),
    )
    assert "DUP-0001 on 2020-06-12" in leak.detail and "B0001 on 2020-06-09" in leak.detail
    [found] = await events(app, "leak_found")
    assert (found["kind"], found["payment_id"], found["check_id"]) == (
        "duplicate_disbursement",
        payment["id"],
        again.json()["id"],
    )
    # Found the day of the import that reported it; the cycle's approver answers for a cycle's payment.
    approver = {"person_id": "director", "name": "director", "unit": "财政所 dibao", "role": "payment_approver"}
    assert (found["found_on"], found["responsible"]) == ("2020-06-12", approver)

    same = await import_file(client, batch_id, result_file([(line, "paid", "", "B0001")]))  # as first reported
    assert same.status_code == 200 and same.json()["duplicate_count"] == 0
    third = await import_file(client, batch_id, result_file([(line, "paid", "", "DUP-0002")], day="2020-06-12"))
    assert third.status_code == 200 and third.json()["duplicate_count"] == 1
    assert await count(app, Leak) == 1 and len(await events(app, "leak_found")) == 1  # one finding per payment
    assert await count(app, Payment) == len(H)

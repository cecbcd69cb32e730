"""A wrong payment reversed (冲正) or recovered (追回), whole and once, on a migrated SQLite file; and payments listed
by status, programme, period and area."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col

from services.subsidies.models import Payment, PaymentCorrection
from shared.contracts.subsidies import SubsidyPaymentCorrected
from shared.messaging.outbox import OutboxMessage
from tests.support import assert_problem, auth, running_app
from tests.unit.test_subsidies_reconciliation import import_file, result_file, seed_batch

FINANCE = auth("finance_officer", sub="cashier-1")
DISTRICT = auth("district_office", sub="office-1")
AT = datetime(2020, 7, 1, 8, tzinfo=UTC)
RECOVERY = {"kind": "recovery", "reason": "户籍核查: 该户3月已迁出本区", "amount_fen": 77_400}


async def pay_by_hand(
    sessions: async_sessionmaker[Any],
    *,
    policy_code: str = "dibao",
    period: str = "2020-06",
    area_code: str = "371523101201",
    amount_fen: int = 77_400,
    at: datetime = AT,
) -> UUID:
    """A payment recorded outside a cycle, as `POST /v1/payments` leaves it."""
    payment = Payment(
        household_id=uuid4(), policy_code=policy_code, period=period, amount_fen=amount_fen,
        idempotency_key=str(uuid4()), member_count=2, area_code=area_code, paid_by="cashier-2", paid_at=at,
    )  # fmt: skip
    async with sessions() as session, session.begin():
        session.add(payment)
    return payment.id


async def correct(
    client: httpx.AsyncClient, payment_id: UUID, body: dict[str, Any], headers: dict[str, str] = FINANCE
) -> httpx.Response:
    return await client.post(f"/v1/payments/{payment_id}/corrections", json=body, headers=headers)


async def state(sessions: async_sessionmaker[Any], payment_id: UUID) -> tuple[str, int, int]:
    """The payment's status, its corrections and the outbox's rows."""
    async with sessions() as session:
        payment = await session.get(Payment, payment_id)
        corrections = await session.scalar(select(func.count()).select_from(PaymentCorrection))
        outbox = await session.scalar(select(func.count()).select_from(OutboxMessage))
    assert payment is not None
    return payment.status, int(corrections or 0), int(outbox or 0)


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with running_app("subsidies", await sqlite_url("subsidies")) as (app, client):
        yield app.state.sessions, client


async def test_a_recovery_keeps_the_payment_recovered_with_its_reason_and_publishes_it(api: Any) -> None:
    sessions, client = api
    payment_id = await pay_by_hand(sessions)

    response = await correct(client, payment_id, RECOVERY, headers=DISTRICT)

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["payment_id"], body["kind"], body["amount_fen"]) == (str(payment_id), "recovery", 77_400)
    assert (body["reason"], body["recorded_by"], body["payment_status"]) == (
        RECOVERY["reason"],
        "office-1",
        "recovered",
    )
    assert (await state(sessions, payment_id))[:2] == ("recovered", 1)
    async with sessions() as session:
        [row] = (
            await session.scalars(
                select(OutboxMessage).where(col(OutboxMessage.event_type) == SubsidyPaymentCorrected.event_type)
            )
        ).all()
    event = json.loads(row.payload)
    assert (event["payment_id"], event["kind"], event["amount_fen"], event["period"]) == (
        str(payment_id), "recovery", 77_400, "2020-06"
    )  # fmt: skip
    read = await client.get(f"/v1/payments/{payment_id}/correction", headers=auth("auditor"))
    assert read.status_code == 200 and read.json() == body


async def test_a_reversal_is_the_finance_offices(api: Any) -> None:
    sessions, client = api
    payment_id = await pay_by_hand(sessions)
    reversal = {**RECOVERY, "kind": "reversal", "reason": "银行冲正通知"}

    assert_problem(await correct(client, payment_id, reversal, headers=DISTRICT), 403)
    assert_problem(await correct(client, payment_id, reversal, headers=auth("auditor")), 403)
    response = await correct(client, payment_id, reversal)

    assert response.status_code == 201 and response.json()["payment_status"] == "reversed"
    assert (await state(sessions, payment_id))[:2] == ("reversed", 1)


async def test_a_payment_is_corrected_once(api: Any) -> None:
    sessions, client = api
    payment_id = await pay_by_hand(sessions)
    assert (await correct(client, payment_id, RECOVERY)).status_code == 201
    before = await state(sessions, payment_id)

    again = await correct(client, payment_id, {**RECOVERY, "kind": "reversal"})

    assert assert_problem(again, 409)["code"] == "corrected"
    assert await state(sessions, payment_id) == before


async def test_a_retry_with_its_key_answers_the_first_correction(api: Any) -> None:
    sessions, client = api
    payment_id = await pay_by_hand(sessions)
    keyed = {**FINANCE, "Idempotency-Key": "recover-0001"}
    first = await correct(client, payment_id, RECOVERY, headers=keyed)
    before = await state(sessions, payment_id)

    retry = await correct(client, payment_id, RECOVERY, headers=keyed)

    assert retry.status_code == 200 and retry.headers["Idempotency-Replayed"] == "true"
    assert retry.json() == first.json() and await state(sessions, payment_id) == before


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({**RECOVERY, "amount_fen": 40_000}, "body.amount_fen", "partial_correction"),
        ({**RECOVERY, "amount_fen": 77_400.0}, "body.amount_fen", "int_type"),
        ({**RECOVERY, "reason": "身份证 371523196001010014 冒领"}, "body.reason", "value_error"),
        ({**RECOVERY, "reason": "  "}, "body.reason", "string_too_short"),
        ({**RECOVERY, "kind": "refund"}, "body.kind", "enum"),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(api: Any, body: dict[str, Any], field: str, code: str) -> None:
    sessions, client = api
    payment_id = await pay_by_hand(sessions)
    before = await state(sessions, payment_id)

    refused = assert_problem(await correct(client, payment_id, body), 422)

    assert [(e["field"], e["code"]) for e in refused["errors"]] == [(field, code)]
    assert await state(sessions, payment_id) == before


async def test_an_unknown_or_uncorrected_payment_is_not_found(api: Any) -> None:
    sessions, client = api
    payment_id = await pay_by_hand(sessions)
    assert_problem(await correct(client, uuid4(), RECOVERY), 404)
    assert_problem(await client.get(f"/v1/payments/{uuid4()}/correction", headers=FINANCE), 404)
    assert_problem(await client.get(f"/v1/payments/{payment_id}/correction", headers=FINANCE), 404)


async def test_a_payment_the_bank_made_is_recovered_like_any_other(api: Any) -> None:
    sessions, client = api
    seeded = await seed_batch(sessions, 1)
    await import_file(client, seeded.batch_id, result_file([(seeded.lines[0], "paid", "")]))
    async with sessions() as session:
        [payment_id] = (await session.scalars(select(col(Payment.id)))).all()

    assert (await correct(client, payment_id, RECOVERY)).status_code == 201
    # The bank's return of it finds the payment recovered: nothing is reversed twice, and the file is imported.
    returned = result_file([(seeded.lines[0], "returned", "other")], day="2020-06-16")
    imported = await import_file(client, seeded.batch_id, returned)
    assert imported.status_code == 200, imported.text
    assert (await state(sessions, payment_id))[:2] == ("recovered", 1)


async def test_payments_are_listed_by_status_programme_period_and_area(api: Any) -> None:
    sessions, client = api
    paid = await pay_by_hand(sessions, area_code="371523101201", at=AT)
    recovered = await pay_by_hand(sessions, area_code="371523101202", at=AT.replace(hour=9))
    other_area = await pay_by_hand(sessions, area_code="371523105203", at=AT.replace(hour=10))
    other_period = await pay_by_hand(sessions, period="2020-07", at=AT.replace(hour=11))
    other_programme = await pay_by_hand(sessions, policy_code="extreme_poverty_support", at=AT.replace(hour=12))
    await correct(client, recovered, RECOVERY)

    async def listed(**params: str) -> list[str]:
        response = await client.get("/v1/payments", params=params, headers=auth("auditor"))
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await listed(status="recovered") == [str(recovered)]
    assert await listed(status="paid", area_code="371523101") == [str(other_programme), str(other_period), str(paid)]
    assert await listed(period="2020-07") == [str(other_period)]
    assert await listed(policy_code="extreme_poverty_support") == [str(other_programme)]
    assert await listed(area_code="371523105") == [str(other_area)]
    assert await listed(policy_code="dibao", period="2020-06", area_code="371523101201", status="paid") == [str(paid)]
    refused = await client.get("/v1/payments", params={"status": "lost"}, headers=FINANCE)
    assert_problem(refused, 422)

"""Subsidies' lists are pages walked by cursor, a payment needs its Idempotency-Key, a coverage check can be
retried with one, the policy catalogue is a subset of `PolicyCode`, and every request body's example is accepted."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select

from services.subsidies.models import CoverageCheck, CoverageGap, Payment
from services.subsidies.schemas.coverage import CoverageCheckCreate
from services.subsidies.schemas.payments import PaymentCreate
from shared.api.clock import request_time
from shared.contracts.households import (
    HouseholdRegistered,
    MemberDisabilityRecorded,
    MinimumAllowance,
    MinimumAllowanceChanged,
)
from shared.messaging.outbox import OutboxMessage
from shared.schemas import RequestBody
from tests.support import apply_event, assert_problem, auth, running_app
from tests.unit.test_projects_pages_and_retries import walk

TOWNSHIP = "371523101"
EXAMPLE_HOUSEHOLD = UUID("6f1d1bb0-5c3a-4e1e-9a57-2d8c0b7e4a10")  # the household of PaymentCreate.example
HOUSEHOLDS = [EXAMPLE_HOUSEHOLD, *(UUID(int=n) for n in range(1, 5))]
FINANCE = auth("finance_officer", sub="cashier-1")
READER = auth("auditor")
MOMENT = datetime(2020, 7, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with running_app("subsidies", await sqlite_url("subsidies")) as (app, client):
        for n, household_id in enumerate(HOUSEHOLDS):
            registered = HouseholdRegistered(
                household_id=household_id,
                household_code=f"CP-{n:04d}",
                area_code=f"{TOWNSHIP}{201 + n % 2}",
                member_count=1 + n,
            )
            await apply_event(app, registered)
        yield app, client


async def _count(app: Any, model: Any) -> int:
    async with app.state.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)))


def _at(app: Any, moment: datetime) -> None:
    app.dependency_overrides[request_time] = lambda: moment


@pytest.mark.parametrize("body", [PaymentCreate, CoverageCheckCreate])
def test_every_request_body_accepts_its_own_example(body: type[RequestBody]) -> None:
    assert body.example is not None
    body.model_validate(body.example)


async def test_the_examples_are_accepted_by_the_service(api: Any) -> None:
    _, client = api
    paid = await client.post("/v1/payments", json=PaymentCreate.example, headers={**FINANCE, "Idempotency-Key": "k"})
    assert paid.status_code == 201, paid.text
    checked = await client.post("/v1/coverage-checks", json=CoverageCheckCreate.example, headers=FINANCE)
    assert checked.status_code == 201, checked.text


async def test_a_payment_without_an_idempotency_key_is_422_naming_the_header(api: Any) -> None:
    app, client = api
    problem = assert_problem(await client.post("/v1/payments", json=PaymentCreate.example, headers=FINANCE), 422)
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [("header.Idempotency-Key", "missing")]
    assert (await _count(app, Payment), await _count(app, OutboxMessage)) == (0, 0)


async def _pay(client: Any, household_id: UUID, period: str) -> dict[str, Any]:
    body = {"household_id": str(household_id), "policy_code": "dibao", "period": period, "amount_fen": 52_000}
    r = await client.post("/v1/payments", json=body, headers={**FINANCE, "Idempotency-Key": f"{household_id}-{period}"})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_payments_are_paged_newest_first(api: Any) -> None:
    app, client = api
    paid = []
    for n, household_id in enumerate(HOUSEHOLDS):
        _at(app, MOMENT + timedelta(minutes=n // 2))  # pairs paid at the same moment: their ids order them
        paid.append(await _pay(client, household_id, "2020-06"))
    _at(app, MOMENT + timedelta(hours=1))
    paid.append(await _pay(client, HOUSEHOLDS[1], "2020-05"))
    items, pages = await walk(client, "/v1/payments", READER, limit=2)
    expected = sorted(paid, key=lambda p: (p["paid_at"], p["id"]), reverse=True)
    assert ([p["id"] for p in items], pages) == ([p["id"] for p in expected], 3)
    mine, _ = await walk(client, "/v1/payments", READER, limit=1, household_id=str(HOUSEHOLDS[1]))
    assert [p["period"] for p in mine] == ["2020-05", "2020-06"]


def _dibao(household_id: UUID, on: date) -> MinimumAllowanceChanged:
    return MinimumAllowanceChanged(household_id=household_id, status=MinimumAllowance.DIBAO, effective_on=on)


async def test_coverage_checks_are_paged_newest_first_within_the_readers_reach(api: Any) -> None:
    app, client = api
    for household_id in HOUSEHOLDS:
        await apply_event(app, _dibao(household_id, date(2020, 1, 1)))
    _at(app, MOMENT)
    checks = []
    for period, area in [
        ("2020-04", TOWNSHIP),
        ("2020-05", f"{TOWNSHIP}201"),
        ("2020-06", None),
        ("2020-06", TOWNSHIP),
    ]:
        body = {"policy_code": "dibao", "period": period, "area_code": area}
        r = await client.post("/v1/coverage-checks", json=body, headers=FINANCE)
        assert r.status_code == 201, r.text
        checks.append(r.json())
    items, pages = await walk(client, "/v1/coverage-checks", READER, limit=3)
    assert ([c["id"] for c in items], pages) == (sorted((c["id"] for c in checks), reverse=True), 2)
    assert all("gaps" not in c for c in items) and {c["gap_count"] for c in items} == {3, 5}
    june, _ = await walk(client, "/v1/coverage-checks", READER, limit=1, period="2020-06")
    assert len(june) == 2
    township = auth("township_office", area=TOWNSHIP)
    own, _ = await walk(client, "/v1/coverage-checks", township, limit=1)
    assert len(own) == 3  # the district-wide check is beyond a township officer's reach
    elsewhere, _ = await walk(client, "/v1/coverage-checks", auth("township_office", area="371523105"), limit=1)
    assert elsewhere == []


async def test_a_checks_gaps_are_a_page_in_household_order_and_its_body_carries_counts(api: Any) -> None:
    app, client = api
    for household_id in HOUSEHOLDS:
        await apply_event(app, _dibao(household_id, date(2020, 1, 1)))
    for member in range(3):  # one household's members, each entitled: gaps that share a household id
        disabled = MemberDisabilityRecorded(
            household_id=HOUSEHOLDS[1],
            member_id=UUID(int=100 + member),
            disability_type="physical",
            grade=3,
            certified_on=date(2019, 6, 1),
        )
        await apply_event(app, disabled)
    _at(app, MOMENT)
    paid = {"household_id": str(HOUSEHOLDS[0]), "policy_code": "dibao", "period": "2020-06", "amount_fen": 52_000}
    r = await client.post("/v1/payments", json=paid, headers={**FINANCE, "Idempotency-Key": "p"})
    assert r.status_code == 201, r.text
    checked = []
    for policy in ("dibao", "disability_living_subsidy"):
        body = {"policy_code": policy, "period": "2020-06", "area_code": TOWNSHIP}
        r = await client.post("/v1/coverage-checks", json=body, headers=FINANCE)
        assert r.status_code == 201, r.text
        checked.append(r.json())
    dibao, disability = checked
    assert {k: dibao[k] for k in ("entitled_count", "paid_count", "gap_count")} == {
        "entitled_count": 5,
        "paid_count": 1,
        "gap_count": 4,
    }
    assert "gaps" not in dibao
    for check, households in [(dibao, HOUSEHOLDS[1:]), (disability, [HOUSEHOLDS[1]] * 3)]:
        url = f"/v1/coverage-checks/{check['id']}/gaps"
        gaps, pages = await walk(client, url, READER, limit=1)
        whole = (await client.get(url, params={"limit": 500}, headers=READER)).json()
        assert gaps == whole["items"] and pages == check["gap_count"] == len(gaps)
        assert [g["household_id"] for g in gaps] == sorted(str(h) for h in households)
    assert [g["member_id"] for g in gaps] == [str(UUID(int=100 + n)) for n in range(3)]  # a household's by member
    assert (await client.get(f"/v1/coverage-checks/{dibao['id']}", headers=READER)).json() == dibao


async def test_a_coverage_check_retried_with_its_key_is_answered_not_repeated(api: Any) -> None:
    app, client = api
    await apply_event(app, _dibao(HOUSEHOLDS[0], date(2020, 7, 1)))
    body = {**CoverageCheckCreate.example, "period": "2020-07"}
    key = {**FINANCE, "Idempotency-Key": "check-dibao-2020-07"}
    first = await client.post("/v1/coverage-checks", json=body, headers=key)
    again = await client.post("/v1/coverage-checks", json=body, headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json() and again.headers["Idempotency-Replayed"] == "true"
    assert first.json()["gap_count"] == 1
    counts = (await _count(app, CoverageCheck), await _count(app, CoverageGap), await _count(app, OutboxMessage))
    assert counts == (1, 1, 1)
    assert_problem(await client.post("/v1/coverage-checks", json={**body, "period": "2020-06"}, headers=key), 409)
    assert (
        await client.post("/v1/coverage-checks", json=body, headers=FINANCE)
    ).status_code == 201  # no key: run again
    assert (await _count(app, CoverageCheck), await _count(app, OutboxMessage)) == (2, 2)


@pytest.mark.parametrize(
    "path",
    ["/v1/payments", "/v1/coverage-checks", f"/v1/coverage-checks/{uuid4()}/gaps"],
)
async def test_a_cursor_not_given_by_the_service_is_422(api: Any, path: str) -> None:
    _, client = api
    for cursor in ("not-a-cursor", "WyJ4IiwieCJd", "WzEsMl0="):
        assert_problem(await client.get(path, params={"cursor": cursor}, headers=FINANCE), 422)

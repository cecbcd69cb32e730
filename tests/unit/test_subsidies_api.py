"""Subsidies on a migrated SQLite file: paying exactly once (a household's or a member's programme) and the household
facts kept from events."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from services.subsidies.models import HouseholdFacts, Payment, ProgrammeVersion
from shared.api.clock import request_time
from shared.contracts.households import HouseholdRegistered, HouseholdUpdated, MemberAdded
from shared.errors import NotFound
from shared.messaging.outbox import OutboxMessage
from shared.timeutil import district_today
from tests.support import apply_event, assert_problem, auth, running_app

TOWNSHIP = "371523101"
HOUSEHOLD_A, HOUSEHOLD_B, HOUSEHOLD_C, HOUSEHOLD_FAR = (UUID(int=n) for n in (1, 2, 3, 4))
FINANCE = auth("finance_officer", sub="cashier-1")
KEY = "batch-2020-06-0001"
UNKNOWN = "6f1d1bb0-0000-4000-8000-000000000000"


def _payment(**changes: Any) -> dict[str, Any]:
    body = {
        "household_id": str(HOUSEHOLD_A),
        "policy_code": "dibao",
        "period": "2020-06",
        "amount_fen": 52_000,
    }
    return {**body, **changes}


def _keyed(key: str = KEY, headers: dict[str, str] = FINANCE) -> dict[str, str]:
    """A payment's headers: its Idempotency-Key is required."""
    return {**headers, "Idempotency-Key": key}


def _registered(household_id: UUID, area_code: str, member_count: int) -> HouseholdRegistered:
    return HouseholdRegistered(
        household_id=household_id,
        household_code=f"CP-{household_id.int:04d}",
        area_code=area_code,
        member_count=member_count,
    )


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with running_app("subsidies", await sqlite_url("subsidies")) as (app, client):
        await apply_event(app, _registered(HOUSEHOLD_A, f"{TOWNSHIP}201", 3))
        await apply_event(app, _registered(HOUSEHOLD_B, f"{TOWNSHIP}202", 1))
        await apply_event(app, _registered(HOUSEHOLD_C, f"{TOWNSHIP}201", 2))
        await apply_event(app, _registered(HOUSEHOLD_FAR, "371523105203", 4))
        yield app, client


async def _count(app: Any, model: Any) -> int:
    async with app.state.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)))


async def _outbox(app: Any) -> list[OutboxMessage]:
    async with app.state.sessions() as s:
        return list((await s.scalars(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all())


async def _counts(app: Any) -> tuple[int, int]:
    return await _count(app, Payment), len(await _outbox(app))


async def _version(app: Any, code: str) -> UUID:
    """The id of the programme's version in force (the seeded one)."""
    async with app.state.sessions() as s:
        version: UUID = (
            await s.scalars(select(col(ProgrammeVersion.id)).where(col(ProgrammeVersion.programme_code) == code))
        ).one()
    return version


async def test_pay_subsidy_keeps_a_snapshot_and_publishes_it(api: Any) -> None:
    app, client = api
    r = await client.post("/v1/payments", json=_payment(), headers=_keyed())
    assert r.status_code == 201, r.text
    paid = r.json()
    assert (paid["member_count"], paid["area_code"], paid["paid_by"]) == (3, f"{TOWNSHIP}201", "cashier-1")
    assert paid["idempotency_key"] == KEY
    version = await _version(app, "dibao")
    assert (paid["member_id"], paid["version_id"], paid["status"]) == (None, str(version), "paid")
    [row] = await _outbox(app)
    assert row.event_type == "gov.poverty.subsidies.subsidy_paid.v1" and row.key == str(HOUSEHOLD_A)
    assert json.loads(row.payload) == {
        "household_id": str(HOUSEHOLD_A),
        "payment_id": paid["id"],
        "policy_code": "dibao",
        "period": "2020-06",
        "amount_fen": 52_000,
        "member_id": None,
        "cycle_id": None,
        "version_id": str(version),
    }
    await apply_event(app, _registered(HOUSEHOLD_A, f"{TOWNSHIP}201", 5))  # the registry changes later...
    kept = await client.get(f"/v1/payments/{paid['id']}", headers=auth("auditor"))
    assert kept.status_code == 200 and kept.json()["member_count"] == 3  # ...what was paid does not


async def test_a_retry_with_the_same_key_returns_the_original_with_200(api: Any) -> None:
    app, client = api
    first = await client.post("/v1/payments", json=_payment(), headers=_keyed())
    again = await client.post("/v1/payments", json=_payment(), headers=_keyed())
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert again.headers["Idempotency-Replayed"] == "true" and "Idempotency-Replayed" not in first.headers
    assert await _counts(app) == (1, 1)


async def test_another_officers_retry_with_the_same_key_gets_the_payment_it_made(api: Any) -> None:
    app, client = api
    colleague = auth("finance_officer", sub="cashier-2")
    first = await client.post("/v1/payments", json=_payment(), headers=_keyed())
    again = await client.post("/v1/payments", json=_payment(), headers=_keyed(headers=colleague))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json() and again.headers["Idempotency-Replayed"] == "true"
    third = auth("finance_officer", sub="cashier-3")
    other = await client.post("/v1/payments", json=_payment(amount_fen=1), headers=_keyed(headers=third))
    assert "different payment" in assert_problem(other, 409)["detail"]  # the key is unique among all payments
    assert await _counts(app) == (1, 1)


@pytest.mark.parametrize(
    ("repeat", "key"),
    [
        (_payment(), "batch-2020-06-0002"),  # already paid, under another key
        (_payment(amount_fen=1), KEY),
        (_payment(period="2020-05"), KEY),
        (_payment(household_id=str(HOUSEHOLD_B)), KEY),
    ],
)
async def test_a_conflicting_repeat_is_409_and_changes_nothing(api: Any, repeat: dict[str, Any], key: str) -> None:
    app, client = api
    assert (await client.post("/v1/payments", json=_payment(), headers=_keyed())).status_code == 201
    assert_problem(await client.post("/v1/payments", json=repeat, headers=_keyed(key)), 409)
    assert await _counts(app) == (1, 1)


@pytest.mark.parametrize("kind", ["reversal", "recovery"])
async def test_a_holder_is_paid_again_by_hand_only_once_the_payment_was_corrected(api: Any, kind: str) -> None:
    app, client = api
    first = (await client.post("/v1/payments", json=_payment(), headers=_keyed("k-1"))).json()
    refused = await client.post("/v1/payments", json=_payment(), headers=_keyed("k-2"))
    assert "already paid to this holder" in assert_problem(refused, 409)["detail"]
    correction = {"kind": kind, "reason": "户籍核查: 该户已迁出本区", "amount_fen": 52_000}
    corrected = await client.post(f"/v1/payments/{first['id']}/corrections", json=correction, headers=FINANCE)
    assert corrected.status_code == 201, corrected.text

    again = await client.post("/v1/payments", json=_payment(), headers=_keyed("k-2"))

    assert again.status_code == 201, again.text
    assert again.json()["id"] != first["id"] and again.json()["status"] == "paid"
    assert_problem(await client.post("/v1/payments", json=_payment(), headers=_keyed("k-3")), 409)
    paid = [json.loads(m.payload)["payment_id"] for m in await _outbox(app) if m.event_type.endswith("subsidy_paid.v1")]
    assert paid == [first["id"], again.json()["id"]]


async def test_other_periods_and_policies_are_paid_separately(api: Any) -> None:
    app, client = api
    for n, changes in enumerate([{}, {"period": "2020-05"}, {"policy_code": "temporary_assistance"}]):
        r = await client.post("/v1/payments", json=_payment(**changes), headers=_keyed(f"k-{n}"))
        assert r.status_code == 201, r.text
    assert await _counts(app) == (3, 3)


ELDER, SECOND_ELDER = UUID(int=31), UUID(int=32)


def _premium(member: UUID | None, **changes: Any) -> dict[str, Any]:
    body = _payment(policy_code="pension_premium_subsidy", period="2020", amount_fen=10_000)
    return {**body, **({} if member is None else {"member_id": str(member)}), **changes}


async def test_a_member_programme_pays_each_member_once(api: Any) -> None:
    app, client = api
    for member in (ELDER, SECOND_ELDER):
        await apply_event(app, _member_added(HOUSEHOLD_A, member))
    first = await client.post("/v1/payments", json=_premium(ELDER), headers=_keyed("p-1"))
    second = await client.post("/v1/payments", json=_premium(SECOND_ELDER), headers=_keyed("p-2"))
    assert (first.status_code, second.status_code) == (201, 201), second.text  # the report's second elder is paid
    assert (first.json()["member_id"], first.json()["version_id"]) == (
        str(ELDER),
        str(await _version(app, "pension_premium_subsidy")),
    )
    again = await client.post("/v1/payments", json=_premium(ELDER), headers=_keyed("p-3"))
    assert "already paid to this holder" in assert_problem(again, 409)["detail"]
    events = [json.loads(m.payload) for m in await _outbox(app)]
    assert [(e["member_id"], e["period"], e["cycle_id"]) for e in events] == [
        (str(ELDER), "2020", None),
        (str(SECOND_ELDER), "2020", None),
    ]
    async with app.state.sessions() as s:
        holders = (await s.scalars(select(col(Payment.holder_key)).order_by(col(Payment.paid_at)))).all()
    assert sorted(holders) == sorted([str(ELDER), str(SECOND_ELDER)])


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        (_premium(None), "body.member_id", "member_required"),
        (_premium(UUID(int=77)), "body.member_id", "not_a_member"),
        (_premium(ELDER, household_id=str(HOUSEHOLD_B)), "body.member_id", "not_a_member"),
        (_payment(member_id=str(ELDER)), "body.member_id", "member_not_expected"),
        (_premium(ELDER, period="2020-06"), "body.period", "period_format"),
        (_payment(policy_code="education_aid", member_id=str(ELDER), period="2020"), "body.period", "period_format"),
        (_payment(period="2020-S1"), "body.period", "period_format"),
        (_payment(period="2019-12"), "body.period", "no_version_in_force"),
        (_payment(policy_code="industry_award"), "body.policy_code", "unknown_policy"),
        (_payment(policy_code="temporary_price_subsidy"), "body.policy_code", "unknown_policy"),
    ],
)
async def test_a_payment_names_its_holder_as_its_programme_requires(
    api: Any, body: dict[str, Any], field: str, code: str
) -> None:
    app, client = api
    await apply_event(app, _member_added(HOUSEHOLD_A, ELDER))
    problem = assert_problem(await client.post("/v1/payments", json=body, headers=_keyed()), 422)
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [(field, code)]
    assert await _counts(app) == (0, 0)


async def test_an_unknown_household_is_422_with_a_clear_detail(api: Any) -> None:
    app, client = api
    r = await client.post("/v1/payments", json=_payment(household_id=UNKNOWN), headers=_keyed())
    problem = assert_problem(r, 422)
    assert "registered household" in problem["detail"]
    assert await _counts(app) == (0, 0)


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (_payment(), FINANCE),  # no Idempotency-Key
        (_payment(), _keyed("")),
        (_payment(), _keyed("batch 2020/06")),
        (_payment(), _keyed("k" * 101)),
        (_payment(idempotency_key=KEY), FINANCE),  # the body field it replaced
        (_payment(amount_fen=0), _keyed()),
        (_payment(amount_fen=-100), _keyed()),
        (_payment(amount_fen=520.5), _keyed()),
        (_payment(amount_fen="52000"), _keyed()),
        (_payment(amount_fen=10**13), _keyed()),
        (_payment(policy_code="Di Bao"), _keyed()),
        (_payment(period="2020-6"), _keyed()),
        (_payment(period="2020-S3"), _keyed()),
        (_payment(member_id="nobody"), _keyed()),
        (_payment(household_id="not-a-uuid"), _keyed()),
        (_payment(unexpected=1), _keyed()),
        ([_payment()], _keyed()),
    ],
)
async def test_bad_payment_is_422_and_changes_nothing(api: Any, body: Any, headers: dict[str, str]) -> None:
    app, client = api
    problem = assert_problem(await client.post("/v1/payments", json=body, headers=headers), 422)
    assert all(set(e) == {"field", "message", "code"} for e in problem.get("errors", []))
    assert await _counts(app) == (0, 0)


def _next_month() -> str:
    today = district_today()
    return f"{today.year + today.month // 12}-{today.month % 12 + 1:02d}"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_payment(period=_next_month()), "body.period"),
        (_payment(period="0465-08"), "body.period"),
        (_payment(policy_code="pocket_money"), "body.policy_code"),
        (_payment(policy_code="dibao2"), "body.policy_code"),
        (_payment(policy_code="employment_subsidy"), "body.policy_code"),
    ],
)
async def test_a_future_period_or_a_policy_outside_the_catalogue_is_422_naming_the_field(
    api: Any, body: dict[str, Any], field: str
) -> None:
    app, client = api
    problem = assert_problem(await client.post("/v1/payments", json=body, headers=_keyed()), 422)
    assert [e["field"] for e in problem["errors"]] == [field]
    assert await _counts(app) == (0, 0)


async def test_the_period_and_the_times_are_the_requests_clock(api: Any) -> None:
    app, client = api
    moment = datetime(2020, 6, 30, 16, 30, tzinfo=UTC)  # 00:30 on 1 July in the district
    app.dependency_overrides[request_time] = lambda: moment
    paid = await client.post("/v1/payments", json=_payment(period="2020-07"), headers=_keyed())
    assert paid.status_code == 201 and datetime.fromisoformat(paid.json()["paid_at"]) == moment
    early = await client.post("/v1/payments", json=_payment(period="2020-08"), headers=_keyed("k-2"))
    assert [(e["field"], e["code"]) for e in assert_problem(early, 422)["errors"]] == [
        ("body.period", "period_not_begun")
    ]
    term = _payment(policy_code="temporary_assistance", period="2020-S2")  # a one-off programme pays by month
    assert [
        e["code"]
        for e in assert_problem(await client.post("/v1/payments", json=term, headers=_keyed("k-3")), 422)["errors"]
    ] == ["period_format"]


async def test_the_current_period_and_a_programme_entered_in_the_catalogue_are_paid(api: Any) -> None:
    app, client = api
    this_month = district_today().strftime("%Y-%m")
    body = _payment(policy_code="temporary_price_subsidy", period=this_month)
    not_yet = assert_problem(await client.post("/v1/payments", json=body, headers=_keyed()), 422)
    assert [(e["field"], e["code"]) for e in not_yet["errors"]] == [("body.policy_code", "unknown_policy")]
    programme = {
        "code": "temporary_price_subsidy",
        "name": "价格临时补贴",
        "unit": "household",
        "frequency": "monthly",
        "funding_source": "价格调节基金",
        "effective_from": "2020-01-01",
        "amount_fen": 3_000,
        "rule": [{"fact": "household.status", "op": "ne", "value": "exited_no_policies"}],
        "reason": "price index above the trigger",
    }
    entered = await client.post("/v1/programmes", json=programme, headers=auth("district_office"))
    assert entered.status_code == 201, entered.text
    paid = await client.post("/v1/payments", json=body, headers=_keyed())
    assert paid.status_code == 201, paid.text
    assert paid.json()["version_id"] == entered.json()["in_force"]["id"]
    assert await _counts(app) == (1, 1)


async def test_malformed_json_is_400(api: Any) -> None:
    app, client = api
    headers = {**FINANCE, "content-type": "application/json"}
    assert_problem(await client.post("/v1/payments", content=b'{"household_id": ', headers=headers), 400)
    assert await _counts(app) == (0, 0)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic abc"}])
async def test_missing_or_bad_token_is_401(api: Any, headers: dict[str, str]) -> None:
    app, client = api
    assert_problem(await client.post("/v1/payments", json=_payment(), headers=_keyed(headers=headers)), 401)
    assert_problem(await client.get("/v1/payments", headers=headers), 401)
    assert await _counts(app) == (0, 0)


@pytest.mark.parametrize(
    ("method", "role"),
    [
        ("POST", "district_office"),
        ("POST", "auditor"),
        ("POST", "township_office"),
        ("GET", "township_office"),
        ("GET", "helper_cadre"),
    ],
)
async def test_wrong_role_is_403_and_changes_nothing(api: Any, method: str, role: str) -> None:
    app, client = api
    kwargs = {"json": _payment()} if method == "POST" else {}
    r = await client.request(method, "/v1/payments", headers=_keyed(headers=auth(role, area=TOWNSHIP)), **kwargs)
    assert_problem(r, 403)
    assert await _counts(app) == (0, 0)


async def test_payments_are_listed_by_household_and_read_by_id(api: Any) -> None:
    _, client = api
    for n, household in enumerate((HOUSEHOLD_A, HOUSEHOLD_B)):
        body = _payment(household_id=str(household))
        assert (await client.post("/v1/payments", json=body, headers=_keyed(f"k-{n}"))).status_code == 201
    commission = auth("discipline_commission")
    mine = await client.get("/v1/payments", params={"household_id": str(HOUSEHOLD_B)}, headers=commission)
    assert [p["household_id"] for p in mine.json()["items"]] == [str(HOUSEHOLD_B)]
    assert len((await client.get("/v1/payments", headers=auth("district_office"))).json()["items"]) == 2
    assert_problem(await client.get(f"/v1/payments/{UNKNOWN}", headers=FINANCE), 404)
    assert_problem(await client.get("/v1/payments/not-a-uuid", headers=FINANCE), 422)


async def test_household_events_keep_the_eligibility_facts(api: Any) -> None:
    app, _ = api
    new = UUID(int=99)
    await apply_event(app, _registered(new, f"{TOWNSHIP}203", 2))
    assert await _facts(app, new) == (f"{TOWNSHIP}203", 2)
    await apply_event(app, _registered(new, f"{TOWNSHIP}204", 5))  # registered once: later facts come as changes
    assert await _facts(app, new) == (f"{TOWNSHIP}203", 2)
    assert await _count(app, HouseholdFacts) == 5


def _member_added(household_id: UUID, member_id: UUID) -> MemberAdded:
    return MemberAdded(
        household_id=household_id, member_id=member_id, relationship_to_head="child", birth_date=date(2015, 1, 1)
    )


async def _facts(app: Any, household_id: UUID) -> tuple[str, int]:
    async with app.state.sessions() as s:
        household = await s.get(HouseholdFacts, household_id)
    assert household is not None
    return household.area_code, household.member_count


async def test_a_household_that_moves_village_is_known_in_its_new_area(api: Any) -> None:
    app, client = api
    moved = HouseholdUpdated(household_id=HOUSEHOLD_FAR, area_code=f"{TOWNSHIP}202", changed=["area_code"])
    await apply_event(app, moved)
    await apply_event(app, HouseholdUpdated(household_id=HOUSEHOLD_FAR, area_code=f"{TOWNSHIP}202", changed=[]))
    assert await _facts(app, HOUSEHOLD_FAR) == (f"{TOWNSHIP}202", 4)
    await apply_event(app, _registered(HOUSEHOLD_FAR, "371523105203", 4))  # re-sent: does not move it back
    assert await _facts(app, HOUSEHOLD_FAR) == (f"{TOWNSHIP}202", 4)
    paid = await client.post("/v1/payments", json=_payment(household_id=str(HOUSEHOLD_FAR)), headers=_keyed())
    assert (paid.status_code, paid.json()["area_code"]) == (201, f"{TOWNSHIP}202")  # paid where it lives now


async def test_an_added_member_is_counted_once_and_paid_from(api: Any) -> None:
    app, client = api
    for _ in range(2):  # the registration's members announced (the second time re-sent): still 3
        for n in range(3):
            await apply_event(app, _member_added(HOUSEHOLD_A, UUID(int=50 + n)))
    assert await _facts(app, HOUSEHOLD_A) == (f"{TOWNSHIP}201", 3)
    newborn = uuid4()
    for _ in range(2):  # the second time re-sent under a new event id
        await apply_event(app, _member_added(HOUSEHOLD_A, newborn))
    await apply_event(app, _member_added(HOUSEHOLD_A, uuid4()))
    assert await _facts(app, HOUSEHOLD_A) == (f"{TOWNSHIP}201", 5)
    await apply_event(app, _registered(HOUSEHOLD_A, f"{TOWNSHIP}201", 3))  # a re-sent registration...
    assert await _facts(app, HOUSEHOLD_A) == (f"{TOWNSHIP}201", 5)  # ...keeps the members added since
    paid = await client.post("/v1/payments", json=_payment(), headers=_keyed())
    assert paid.status_code == 201 and paid.json()["member_count"] == 5


@pytest.mark.parametrize(
    "event",
    [
        _member_added(UUID(UNKNOWN), uuid4()),
        HouseholdUpdated(household_id=UUID(UNKNOWN), area_code=TOWNSHIP, changed=[]),
    ],
)
async def test_facts_of_a_household_never_registered_fail_loudly(api: Any, event: Any) -> None:
    app, _ = api
    with pytest.raises(NotFound):
        await apply_event(app, event)
    assert await _count(app, HouseholdFacts) == 4

"""Payee accounts (惠民惠农一卡通) on a migrated SQLite file: sealed at rest, masked on read, corrected by replacing."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select
from sqlmodel import col

from services.subsidies.domain.payees import active_payees
from services.subsidies.models import HouseholdFacts, MemberFacts, Payee
from shared.api.idempotent_requests import IdempotentRequest
from shared.messaging.outbox import OutboxMessage
from tests.support import assert_problem, auth, running_app

HOUSEHOLD, OTHER_HOUSEHOLD, UNKNOWN = UUID(int=1), UUID(int=2), UUID(int=99)
HEAD, SON, NEIGHBOUR = UUID(int=11), UUID(int=12), UUID(int=21)
FINANCE = auth("finance_officer", sub="cashier-1")
ACCOUNT, CORRECTED = "6217000012345678901", "6228480012345670002"
AT = datetime(2020, 6, 1, 8, tzinfo=UTC)


def payee_body(**changes: Any) -> dict[str, Any]:
    return {
        "bank_code": "RCC3715",
        "account_no": ACCOUNT,
        "holder_name": "张三丰",
        "holder_member_id": str(HEAD),
    } | changes


async def seed_households(app: Any) -> None:
    """Two registered households as subsidies knows them: a head and a son, and a neighbour."""
    async with app.state.sessions() as s, s.begin():
        for household in (HOUSEHOLD, OTHER_HOUSEHOLD):
            s.add(HouseholdFacts(household_id=household, area_code="371523101201", member_count=2, updated_at=AT))
        s.add(MemberFacts(member_id=HEAD, household_id=HOUSEHOLD, relationship_to_head="head"))
        s.add(MemberFacts(member_id=SON, household_id=HOUSEHOLD, relationship_to_head="son"))
        s.add(MemberFacts(member_id=NEIGHBOUR, household_id=OTHER_HOUSEHOLD, relationship_to_head="head"))


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with running_app("subsidies", await sqlite_url("subsidies")) as (app, client):
        await seed_households(app)
        yield app, client


async def _payees(app: Any) -> list[Payee]:
    async with app.state.sessions() as s:
        return list((await s.scalars(select(Payee).order_by(col(Payee.recorded_at)))).all())


def _vault(app: Any) -> Any:
    return app.state.runtime.settings.payee_vault()


async def test_an_account_is_sealed_and_only_ever_shown_masked(api: Any, caplog: pytest.LogCaptureFixture) -> None:
    app, client = api
    caplog.set_level(logging.DEBUG)
    r = await client.post(f"/v1/households/{HOUSEHOLD}/payees", json=payee_body(), headers=FINANCE)
    assert r.status_code == 201, r.text
    read = r.json()
    assert read["account_masked"] == "6217 **** **** 8901" and read["holder_name_masked"] == "张*丰"
    assert (read["holder_key"], read["member_id"], read["replaced_at"]) == ("-", None, None)
    assert read["recorded_by"] == "cashier-1" and read["holder_member_id"] == str(HEAD)
    listed = await client.get(f"/v1/households/{HOUSEHOLD}/payees", headers=auth("auditor"))
    assert listed.status_code == 200 and [p["id"] for p in listed.json()["items"]] == [read["id"]]
    for text in (r.text, listed.text, caplog.text):
        assert ACCOUNT not in text and "张三丰" not in text and ACCOUNT[-8:] not in text
    [stored] = await _payees(app)
    assert ACCOUNT.encode() not in stored.account_ciphertext
    opened = _vault(app).open(
        stored.account_kid, stored.account_ciphertext, stored.holder_name_ciphertext, payee_id=stored.id
    )
    assert (opened.account_no, opened.holder_name) == (ACCOUNT, "张三丰")
    assert stored.account_hash == _vault(app).account_hash(ACCOUNT)
    async with app.state.sessions() as s:
        assert (await s.scalars(select(OutboxMessage))).all() == []  # nothing about an account is published


async def test_a_new_account_for_the_same_holder_replaces_the_one_in_use(api: Any) -> None:
    app, client = api
    first = (await client.post(f"/v1/households/{HOUSEHOLD}/payees", json=payee_body(), headers=FINANCE)).json()
    own = payee_body(member_id=str(SON), holder_member_id=str(SON), account_no="6217000099990000111")
    sons = (await client.post(f"/v1/households/{HOUSEHOLD}/payees", json=own, headers=FINANCE)).json()
    second = await client.post(
        f"/v1/households/{HOUSEHOLD}/payees", json=payee_body(account_no=CORRECTED), headers=FINANCE
    )
    assert second.status_code == 201 and second.json()["account_masked"] == "6228 **** **** 0002"
    in_use = await client.get(f"/v1/households/{HOUSEHOLD}/payees?in_use=true", headers=FINANCE)
    assert {p["id"] for p in in_use.json()["items"]} == {second.json()["id"], sons["id"]}
    replaced = (await client.get(f"/v1/households/{HOUSEHOLD}/payees?in_use=false", headers=FINANCE)).json()
    assert [p["id"] for p in replaced["items"]] == [first["id"]] and replaced["items"][0]["replaced_at"] is not None
    async with app.state.sessions() as s:
        found = await active_payees(s, [(HOUSEHOLD, "-"), (HOUSEHOLD, str(SON)), (OTHER_HOUSEHOLD, "-")])
    assert {key: str(p.id) for key, p in found.items()} == {
        (HOUSEHOLD, "-"): second.json()["id"],
        (HOUSEHOLD, str(SON)): sons["id"],
    }


async def test_the_list_pages_newest_first(api: Any) -> None:
    _, client = api
    made = []
    for n in range(3):
        body = payee_body(account_no=f"62170000{n:04d}0000001")
        made.append((await client.post(f"/v1/households/{HOUSEHOLD}/payees", json=body, headers=FINANCE)).json()["id"])
    first = (await client.get(f"/v1/households/{HOUSEHOLD}/payees?limit=2", headers=FINANCE)).json()
    rest = (
        await client.get(f"/v1/households/{HOUSEHOLD}/payees?limit=2&cursor={first['next_cursor']}", headers=FINANCE)
    ).json()
    assert [p["id"] for p in first["items"] + rest["items"]] == made[::-1] and rest["next_cursor"] is None


async def test_members_named_must_belong_to_the_household(api: Any) -> None:
    app, client = api
    url = f"/v1/households/{HOUSEHOLD}/payees"
    bad = await client.post(
        url, json=payee_body(member_id=str(NEIGHBOUR), holder_member_id=str(NEIGHBOUR)), headers=FINANCE
    )
    errors = assert_problem(bad, 422)["errors"]
    assert {(e["field"], e["code"]) for e in errors} == {
        ("body.member_id", "unknown_member"),
        ("body.holder_member_id", "unknown_member"),
    }
    outsider = await client.post(url, json=payee_body(holder_member_id=None), headers=FINANCE)
    assert outsider.status_code == 201 and outsider.json()["holder_member_id"] is None  # in someone else's name
    assert_problem(await client.post(f"/v1/households/{UNKNOWN}/payees", json=payee_body(), headers=FINANCE), 404)
    assert_problem(await client.get(f"/v1/households/{UNKNOWN}/payees", headers=FINANCE), 404)
    assert len(await _payees(app)) == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"account_no": "62170000123"},  # 11 digits
        {"account_no": "6217-0000-1234-5678"},
        {"account_no": "6217000012345678901234567890123"},  # 31 digits
        {"account_no": 6217000012345678901},  # a number, not text
        {"holder_name": "  "},
        {"holder_name": "张三,李四"},
        {"holder_name": "张三 371523196001010010"},  # an ID-card number typed into the name
        {"bank_code": "农商行"},
        {"nickname": "x"},
    ],
)
async def test_bad_input_is_refused_without_echoing_the_account(api: Any, changes: dict[str, Any]) -> None:
    app, client = api
    r = await client.post(f"/v1/households/{HOUSEHOLD}/payees", json=payee_body(**changes), headers=FINANCE)
    assert_problem(r, 422)
    for secret in (ACCOUNT, "62170000123", "6217-0000-1234-5678", "371523196001010010", "张三,李四"):
        assert secret not in r.text
    assert await _payees(app) == []


async def test_full_width_digits_are_read_as_the_same_account(api: Any) -> None:
    app, client = api
    wide = "".join(chr(ord(c) + 0xFEE0) for c in ACCOUNT)
    r = await client.post(f"/v1/households/{HOUSEHOLD}/payees", json=payee_body(account_no=wide), headers=FINANCE)
    assert r.status_code == 201
    [stored] = await _payees(app)
    assert stored.account_hash == _vault(app).account_hash(ACCOUNT)


async def test_only_a_finance_officer_records_an_account(api: Any) -> None:
    app, client = api
    for role in ("district_office", "auditor", "discipline_commission", "township_office"):
        r = await client.post(
            f"/v1/households/{HOUSEHOLD}/payees", json=payee_body(), headers=auth(role, area="371523101")
        )
        assert_problem(r, 403)
    assert_problem(
        await client.get(f"/v1/households/{HOUSEHOLD}/payees", headers=auth("village_cadre", area="371523101201")), 403
    )
    assert await _payees(app) == []


async def test_a_retry_replays_and_another_account_under_the_same_key_is_a_conflict(api: Any) -> None:
    app, client = api
    keyed = {**FINANCE, "Idempotency-Key": "payee-0001"}
    url = f"/v1/households/{HOUSEHOLD}/payees"
    first = await client.post(url, json=payee_body(), headers=keyed)
    again = await client.post(url, json=payee_body(), headers=keyed)
    assert (first.status_code, again.status_code) == (201, 200) and again.json() == first.json()
    assert again.headers["Idempotency-Replayed"] == "true"
    other = await client.post(url, json=payee_body(account_no=CORRECTED), headers=keyed)  # masked alike, not alike
    assert_problem(other, 409)
    assert len(await _payees(app)) == 1
    async with app.state.sessions() as s:
        [claim] = (await s.scalars(select(IdempotentRequest))).all()
    assert ACCOUNT not in (claim.response_body or "") and "张三丰" not in (claim.response_body or "")

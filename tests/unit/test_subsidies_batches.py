"""Disbursement batches and bank files on a migrated SQLite file: the first batch, follow-ups after an account is
corrected, never a second live line for an entitlement, and an export whose bytes never change."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from services.subsidies.models import (
    BankFileExport,
    BatchLine,
    Cycle,
    CycleEntitlement,
    DisbursementBatch,
    HouseholdFacts,
    MemberFacts,
    Programme,
    ProgrammeVersion,
)
from services.subsidies.rules.bank_file import EXPORT_HEADER
from shared.messaging.outbox import OutboxMessage
from tests.support import assert_problem, auth, running_app

FINANCE = auth("finance_officer", sub="cashier-1")
AT = datetime(2020, 7, 1, 8, tzinfo=UTC)
PROGRAMME = "bank_test_allowance"
MEMBER_PROGRAMME = "bank_test_member_allowance"
STANDARDS = {PROGRAMME: UUID(int=901), MEMBER_PROGRAMME: UUID(int=902)}
VILLAGE, OTHER_VILLAGE = "371523101201", "371523102301"
H = [UUID(int=n) for n in range(1, 6)]  # households 1-5
PUPIL = UUID(int=31)  # a member of household 1
AMOUNTS = {H[0]: 25_800, H[1]: 51_600, H[2]: 77_400, H[3]: 25_800}
NAMES = {H[0]: "张三丰", H[1]: "李四", H[2]: "王五", H[3]: "赵六"}


def account_of(n: int, version: int = 0) -> str:
    return f"62170000{version:02d}{n:09d}"


async def seed_cycle(
    app: Any,
    *,
    status: str = "approved",
    entitlements: dict[UUID, int] | None = None,
    period: str = "2020-06",
    programme: str = PROGRAMME,
) -> UUID:
    """An approved cycle of a household programme listing households 1-4 (and 5, withdrawn); of the member
    programme, listing no one."""
    cycle_id = uuid4()
    async with app.state.sessions() as s, s.begin():
        if await s.get(Programme, PROGRAMME) is None:
            for code, unit in ((PROGRAMME, "household"), (MEMBER_PROGRAMME, "member")):
                s.add(
                    Programme(
                        code=code, name="最低生活保障金", unit=unit, frequency="monthly", funding_source="县级财政",
                        created_by="seed", created_at=AT,
                    )
                )  # fmt: skip
                s.add(_standard(code))
            for n, household in enumerate(H):
                area = OTHER_VILLAGE if n == 2 else VILLAGE
                s.add(HouseholdFacts(household_id=household, area_code=area, member_count=2, updated_at=AT))
            s.add(MemberFacts(member_id=PUPIL, household_id=H[0], relationship_to_head="son"))
        s.add(
            Cycle(
                id=cycle_id, programme_code=programme, period=period, version_id=STANDARDS[programme],
                status=status, created_by="preparer", created_at=AT,
            )
        )  # fmt: skip
        for household, amount in (AMOUNTS if entitlements is None else entitlements).items():
            s.add(_entitlement(cycle_id, household, amount))
        s.add(_entitlement(cycle_id, H[4], 25_800, status="withdrawn"))
    return cycle_id


def _standard(code: str) -> ProgrammeVersion:
    """A standard every registered household meets, paying more than any entitlement here: a batch, judging each
    entitlement again, pays it as approved."""
    return ProgrammeVersion(
        id=STANDARDS[code], programme_code=code, version=1, effective_from=date(2020, 1, 1), amount_fen=200_000,
        rule=[{"fact": "household.status", "op": "ne", "value": "exited_no_policies"}], reason="seed",
        created_by="seed", created_at=AT,
    )  # fmt: skip


def _entitlement(
    cycle_id: UUID, household: UUID, amount: int, *, status: str = "listed", member: UUID | None = None
) -> CycleEntitlement:
    area = OTHER_VILLAGE if household == H[2] else VILLAGE
    return CycleEntitlement(
        cycle_id=cycle_id, household_id=household, member_id=member, holder_key=str(member) if member else "-",
        area_code=area, amount_fen=amount, version_id=uuid4(), status=status, facts={}, explanation=[],
    )  # fmt: skip


async def add_payee(client: Any, household: UUID, n: int, *, version: int = 0, **changes: Any) -> dict[str, Any]:
    body = {"bank_code": "RCC3715", "account_no": account_of(n, version), "holder_name": NAMES.get(household, "孙七")}
    r = await client.post(f"/v1/households/{household}/payees", json=body | changes, headers=FINANCE)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with running_app("subsidies", await sqlite_url("subsidies")) as (app, client):
        yield app, client


async def build(client: Any, cycle_id: UUID, headers: dict[str, str] = FINANCE) -> Any:
    return await client.post(f"/v1/cycles/{cycle_id}/batches", headers=headers)


async def lines_of(client: Any, batch_id: str, query: str = "") -> list[dict[str, Any]]:
    r = await client.get(f"/v1/batches/{batch_id}/lines?limit=500{query}", headers=auth("auditor"))
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def settle(app: Any, line_id: str, status: str, reason: str | None = None) -> None:
    """What reconciling the bank's result does to a line (another module's work)."""
    async with app.state.sessions() as s, s.begin():
        await s.execute(
            update(BatchLine).where(col(BatchLine.id) == UUID(line_id)).values(status=status, bank_reason=reason)
        )


async def count(app: Any, model: Any) -> int:
    async with app.state.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def outbox(app: Any) -> list[OutboxMessage]:
    async with app.state.sessions() as s:
        return list((await s.scalars(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all())


# --- Building -----------------------------------------------------------------------------------------------------


async def test_the_first_batch_pays_every_listed_entitlement_that_has_an_account(api: Any) -> None:
    app, client = api
    cycle_id = await seed_cycle(app)
    payees = {h: await add_payee(client, h, n) for n, h in enumerate(H[:3], 1)}
    r = await build(client, cycle_id)
    assert r.status_code == 201, r.text
    batch = r.json()
    assert (batch["sequence"], batch["status"], batch["line_count"]) == (1, "built", 3)
    assert batch["total_fen"] == 25_800 + 51_600 + 77_400 and batch["awaiting_count"] == 1  # household 4: no account
    assert batch["checksum"] is None and batch["built_by"] == "cashier-1"
    lines = await lines_of(client, batch["id"])
    assert [line["line_no"] for line in lines] == [1, 2, 3]
    assert {UUID(line["household_id"]): line["payee"]["id"] for line in lines} == {
        h: p["id"] for h, p in payees.items()
    }
    assert {line["status"] for line in lines} == {"pending"} and lines[0]["payee"]["account_masked"].endswith("0001")
    assert H[4] not in {UUID(line["household_id"]) for line in lines}  # withdrawn: never paid
    again = await build(client, cycle_id)
    problem = assert_problem(again, 422)
    assert problem["errors"][0]["code"] == "nothing_to_pay" and problem["awaiting_count"] == 1
    assert await count(app, DisbursementBatch) == 1 and await count(app, BatchLine) == 3


async def test_a_follow_up_takes_those_never_batched_that_now_have_an_account(api: Any) -> None:
    app, client = api
    cycle_id = await seed_cycle(app)
    for n, h in enumerate(H[:3], 1):
        await add_payee(client, h, n)
    first = (await build(client, cycle_id)).json()
    awaiting = (await client.get(f"/v1/cycles/{cycle_id}/awaiting-batch", headers=FINANCE)).json()["items"]
    assert [(UUID(a["household_id"]), a["reason"], a["payee_id"]) for a in awaiting] == [(H[3], "no_payee", None)]
    await add_payee(client, H[3], 4)
    ready = (await client.get(f"/v1/cycles/{cycle_id}/awaiting-batch?reason=ready", headers=FINANCE)).json()["items"]
    assert [UUID(a["household_id"]) for a in ready] == [H[3]]
    follow_up = await build(client, cycle_id)
    assert follow_up.status_code == 201
    assert (follow_up.json()["sequence"], follow_up.json()["line_count"], follow_up.json()["awaiting_count"]) == (
        2,
        1,
        0,
    )
    [line] = await lines_of(client, follow_up.json()["id"])
    assert (UUID(line["household_id"]), line["line_no"], line["amount_fen"]) == (H[3], 1, 25_800)
    listed = (await client.get(f"/v1/cycles/{cycle_id}/batches", headers=auth("discipline_commission"))).json()
    assert [b["id"] for b in listed["items"]] == [first["id"], follow_up.json()["id"]]


async def test_a_failed_line_is_followed_up_only_once_its_account_is_corrected(api: Any) -> None:
    app, client = api
    cycle_id = await seed_cycle(app, entitlements={H[0]: 25_800, H[1]: 51_600})
    await add_payee(client, H[0], 1)
    await add_payee(client, H[1], 2)
    first = (await build(client, cycle_id)).json()
    failed, paid = await lines_of(client, first["id"])
    await settle(app, failed["id"], "failed", "account_closed")
    await settle(app, paid["id"], "paid")
    assert assert_problem(await build(client, cycle_id), 422)["errors"][0]["code"] == "nothing_to_pay"
    awaiting = (await client.get(f"/v1/cycles/{cycle_id}/awaiting-batch", headers=FINANCE)).json()["items"]
    assert [(a["entitlement_id"], a["reason"]) for a in awaiting] == [
        (failed["entitlement_id"], "account_not_corrected")
    ]
    corrected = await add_payee(client, H[0], 1, version=1)
    follow_up = (await build(client, cycle_id)).json()
    [line] = await lines_of(client, follow_up["id"])
    assert (line["entitlement_id"], line["payee"]["id"], line["status"]) == (
        failed["entitlement_id"], corrected["id"], "pending"
    )  # fmt: skip
    failed_lines = await lines_of(client, first["id"], "&status=failed")
    assert [x["id"] for x in failed_lines] == [failed["id"]] and failed_lines[0]["bank_reason"] == "account_closed"
    # The follow-up's line is pending: the entitlement is in no further batch, whatever account is recorded now.
    await add_payee(client, H[0], 1, version=2)
    assert_problem(await build(client, cycle_id), 422)


async def test_a_returned_line_is_followed_up_once_its_account_is_corrected(api: Any) -> None:
    app, client = api
    cycle_id = await seed_cycle(app, entitlements={H[0]: 25_800})
    await add_payee(client, H[0], 1)
    [line] = await lines_of(client, (await build(client, cycle_id)).json()["id"])
    await settle(app, line["id"], "returned", "account_frozen")
    assert_problem(await build(client, cycle_id), 422)
    await add_payee(client, H[0], 1, version=1)
    assert (await build(client, cycle_id)).json()["line_count"] == 1


async def test_an_entitlement_never_has_two_live_lines_even_written_directly(api: Any) -> None:
    app, client = api
    cycle_id = await seed_cycle(app, entitlements={H[0]: 25_800})
    await add_payee(client, H[0], 1)
    batch = (await build(client, cycle_id)).json()
    [line] = await lines_of(client, batch["id"])
    for status in ("pending", "paid"):
        with pytest.raises(IntegrityError):  # what a racing build would try: the partial unique index refuses it
            async with app.state.sessions() as s, s.begin():
                s.add(
                    BatchLine(
                        batch_id=uuid4(), line_no=1, entitlement_id=UUID(line["entitlement_id"]),
                        payee_id=UUID(line["payee"]["id"]), amount_fen=25_800, status=status,
                    )
                )  # fmt: skip
    await settle(app, line["id"], "paid")
    await add_payee(client, H[0], 1, version=1)  # a paid entitlement is not paid again, whatever account is recorded
    assert_problem(await build(client, cycle_id), 422)
    assert await count(app, BatchLine) == 1


async def test_a_members_entitlement_goes_to_their_own_account_or_else_the_households(api: Any) -> None:
    app, client = api
    cycle_id = await seed_cycle(app, entitlements={}, programme=MEMBER_PROGRAMME)
    async with app.state.sessions() as s, s.begin():
        s.add(_entitlement(cycle_id, H[0], 150_000, member=PUPIL))
    household = await add_payee(client, H[0], 1)
    first = (await build(client, cycle_id)).json()
    [line] = await lines_of(client, first["id"])
    assert (line["holder_key"], line["member_id"], line["payee"]["id"]) == (str(PUPIL), str(PUPIL), household["id"])
    await settle(app, line["id"], "failed", "name_mismatch")
    own = await add_payee(client, H[0], 9, member_id=str(PUPIL), holder_member_id=str(PUPIL), holder_name="张小明")
    [again] = await lines_of(client, (await build(client, cycle_id)).json()["id"])
    assert again["payee"]["id"] == own["id"] and again["payee"]["holder_name_masked"] == "张*明"


async def test_a_batch_is_built_for_an_approved_cycle_only_by_a_finance_officer(api: Any) -> None:
    app, client = api
    submitted = await seed_cycle(app, status="submitted")
    await add_payee(client, H[0], 1)
    problem = assert_problem(await build(client, submitted), 409)
    assert problem["code"] == "cycle_state" and problem["cycle_status"] == "submitted"
    assert_problem(await build(client, uuid4()), 404)
    approved = await seed_cycle(app, period="2020-07")
    for role in ("district_office", "auditor"):
        assert_problem(await build(client, approved, auth(role)), 403)
    assert_problem(await client.get(f"/v1/cycles/{uuid4()}/batches", headers=FINANCE), 404)
    assert_problem(await client.get(f"/v1/batches/{uuid4()}", headers=FINANCE), 404)
    assert_problem(await client.get(f"/v1/batches/{uuid4()}/lines", headers=FINANCE), 404)
    assert await count(app, DisbursementBatch) == 0


async def test_a_retried_build_with_its_key_answers_the_batch_first_built(api: Any) -> None:
    app, client = api
    cycle_id = await seed_cycle(app)
    await add_payee(client, H[0], 1)
    keyed = {**FINANCE, "Idempotency-Key": "build-2020-06-1"}
    first = await build(client, cycle_id, keyed)
    await add_payee(client, H[1], 2)  # even with something new to pay, the retry builds nothing
    again = await build(client, cycle_id, keyed)
    assert (first.status_code, again.status_code) == (201, 200) and again.json() == first.json()
    assert await count(app, DisbursementBatch) == 1 and await count(app, BatchLine) == 1


async def test_lines_page_by_line_number_and_filter_by_area(api: Any) -> None:
    app, client = api
    cycle_id = await seed_cycle(app)
    for n, h in enumerate(H[:4], 1):
        await add_payee(client, h, n)
    batch = (await build(client, cycle_id)).json()
    page = (await client.get(f"/v1/batches/{batch['id']}/lines?limit=3", headers=FINANCE)).json()
    rest = (await client.get(f"/v1/batches/{batch['id']}/lines?cursor={page['next_cursor']}", headers=FINANCE)).json()
    assert [x["line_no"] for x in page["items"] + rest["items"]] == [1, 2, 3, 4] and rest["next_cursor"] is None
    other = await lines_of(client, batch["id"], f"&area_code={OTHER_VILLAGE[:9]}")
    assert [UUID(x["household_id"]) for x in other] == [H[2]]
    assert (await client.get(f"/v1/batches/{batch['id']}", headers=auth("auditor"))).json()["line_count"] == 4


# --- The bank file ------------------------------------------------------------------------------------------------

EXPORT = {"encoding": "gbk", "reason": "2020年6月代发, 报送农商行"}


async def built_batch(app: Any, client: Any) -> tuple[UUID, dict[str, Any]]:
    cycle_id = await seed_cycle(app)
    for n, h in enumerate(H[:4], 1):
        await add_payee(client, h, n)
    return cycle_id, (await build(client, cycle_id)).json()


async def test_the_bank_file_carries_full_accounts_in_the_documented_layout(api: Any) -> None:
    app, client = api
    cycle_id, batch = await built_batch(app, client)
    r = await client.post(f"/v1/batches/{batch['id']}/bank-file", json=EXPORT, headers=FINANCE)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=gbk"
    assert r.headers["content-disposition"] == f'attachment; filename="batch-{cycle_id}-1-gbk.csv"'
    text = r.content.decode("gbk")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert tuple(rows[0]) == EXPORT_HEADER and text.endswith("\r\n") and text.count("\r\n") == 5
    lines = await lines_of(client, batch["id"])
    by_household = {UUID(line["household_id"]): line for line in lines}
    for row, line in zip(rows[1:], lines, strict=True):
        household = UUID(line["household_id"])
        n = H.index(household) + 1
        assert row == [
            str(line["line_no"]), batch["id"], account_of(n), NAMES[household],
            f"{AMOUNTS[household] // 100}.00", "最低生活保障金 2020-06", line["id"],
        ]  # fmt: skip
    assert by_household.keys() == set(H[:4])
    sent = hashlib.sha256(r.content).hexdigest()
    assert r.headers["x-checksum-sha256"] == sent  # the bytes sent, GBK here
    read = (await client.get(f"/v1/batches/{batch['id']}", headers=FINANCE)).json()
    assert read["status"] == "exported" and read["checksum"] == hashlib.sha256(text.encode("utf-8")).hexdigest()
    [event] = [m for m in await outbox(app) if m.event_type.endswith("bank_file_exported.v1")]
    payload = json.loads(event.payload)
    assert (payload["batch_id"], payload["checksum"], payload["encoding"]) == (batch["id"], sent, "gbk")
    assert (payload["exported_by"], payload["reason"], payload["line_count"]) == ("cashier-1", EXPORT["reason"], 4)
    assert event.key == str(cycle_id) and account_of(1) not in event.payload


async def test_each_export_names_the_checksum_of_its_bytes_and_the_batch_keeps_the_canonical_one(api: Any) -> None:
    app, client = api
    _, batch = await built_batch(app, client)
    url = f"/v1/batches/{batch['id']}/bank-file"
    gbk = await client.post(url, json=EXPORT, headers=FINANCE)
    [line] = await lines_of(client, batch["id"], "&limit=1")
    await settle(app, line["id"], "paid")  # what the bank said later does not change the file
    utf8 = await client.post(
        url, json={**EXPORT, "encoding": "utf-8"}, headers=auth("finance_officer", sub="cashier-2")
    )
    assert utf8.headers["content-type"] == "text/csv; charset=utf-8"
    assert utf8.content.decode("utf-8") == gbk.content.decode("gbk") and utf8.content != gbk.content
    sent = {"gbk": hashlib.sha256(gbk.content).hexdigest(), "utf-8": hashlib.sha256(utf8.content).hexdigest()}
    assert (gbk.headers["x-checksum-sha256"], utf8.headers["x-checksum-sha256"]) == (sent["gbk"], sent["utf-8"])
    exports = (await client.get(f"/v1/batches/{batch['id']}/exports", headers=auth("auditor"))).json()["items"]
    assert [(e["encoding"], e["exported_by"]) for e in exports] == [("gbk", "cashier-1"), ("utf-8", "cashier-2")]
    assert [e["checksum"] for e in exports] == [sent["gbk"], sent["utf-8"]]
    published = [json.loads(m.payload)["checksum"] for m in await outbox(app) if "bank_file_exported" in m.event_type]
    assert published == [sent["gbk"], sent["utf-8"]]
    again = await client.post(url, json=EXPORT, headers=FINANCE)  # reproducible: the same bytes, the same checksum
    assert again.content == gbk.content and again.headers["x-checksum-sha256"] == sent["gbk"]
    read = (await client.get(f"/v1/batches/{batch['id']}", headers=FINANCE)).json()
    assert read["checksum"] == sent["utf-8"]  # the canonical checksum: the UTF-8 form's, whichever went first


async def test_a_file_that_no_longer_matches_its_first_export_is_refused(api: Any) -> None:
    app, client = api
    _, batch = await built_batch(app, client)
    url = f"/v1/batches/{batch['id']}/bank-file"
    assert (await client.post(url, json=EXPORT, headers=FINANCE)).status_code == 200
    async with app.state.sessions() as s, s.begin():
        await s.execute(update(Programme).where(col(Programme.code) == PROGRAMME).values(name="低保金"))
    assert assert_problem(await client.post(url, json=EXPORT, headers=FINANCE), 409)["code"] == "file_changed"
    assert await count(app, BankFileExport) == 1


async def test_a_name_gbk_cannot_write_refuses_the_export_and_records_nothing(api: Any) -> None:
    app, client = api
    cycle_id = await seed_cycle(app, entitlements={H[0]: 25_800, H[1]: 51_600})
    await add_payee(client, H[0], 1)
    await add_payee(client, H[1], 2, holder_name="王䶮")  # a character outside GBK
    batch = (await build(client, cycle_id)).json()
    lines = await lines_of(client, batch["id"])
    bad_line = next(line["line_no"] for line in lines if UUID(line["household_id"]) == H[1])
    r = await client.post(f"/v1/batches/{batch['id']}/bank-file", json=EXPORT, headers=FINANCE)
    problem = assert_problem(r, 422)
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [(f"line {bad_line}", "not_encodable")]
    assert "䶮" not in r.text and account_of(2) not in r.text
    assert await count(app, BankFileExport) == 0 and await outbox(app) == []
    read = (await client.get(f"/v1/batches/{batch['id']}", headers=FINANCE)).json()
    assert (read["status"], read["checksum"]) == ("built", None)
    assert (
        await client.post(f"/v1/batches/{batch['id']}/bank-file", json={**EXPORT, "encoding": "utf-8"}, headers=FINANCE)
    ).status_code == 200


async def test_only_a_finance_officer_exports_and_says_why(api: Any) -> None:
    app, client = api
    _, batch = await built_batch(app, client)
    url = f"/v1/batches/{batch['id']}/bank-file"
    for role in ("district_office", "auditor", "discipline_commission"):
        assert_problem(await client.post(url, json=EXPORT, headers=auth(role)), 403)
    for body in ({"encoding": "gbk"}, {**EXPORT, "reason": " "}, {**EXPORT, "encoding": "latin-1"},
                 {**EXPORT, "reason": "核对 371523196001010010 账户"}):  # fmt: skip
        r = await client.post(url, json=body, headers=FINANCE)
        assert_problem(r, 422)
        assert "371523196001010010" not in r.text
    assert_problem(await client.post(f"/v1/batches/{uuid4()}/bank-file", json=EXPORT, headers=FINANCE), 404)
    assert await count(app, BankFileExport) == 0


async def test_reads_never_show_a_full_account(api: Any) -> None:
    app, client = api
    cycle_id, batch = await built_batch(app, client)
    bodies = [
        (await client.get(path, headers=auth("auditor"))).text
        for path in (
            f"/v1/batches/{batch['id']}/lines",
            f"/v1/batches/{batch['id']}",
            f"/v1/cycles/{cycle_id}/batches",
            f"/v1/cycles/{cycle_id}/awaiting-batch",
            f"/v1/households/{H[0]}/payees",
        )
    ]
    assert all(account_of(n)[4:] not in body for body in bodies for n in range(1, 5))

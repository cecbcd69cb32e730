"""A 低保 cycle paid exactly once although subsidies is killed (SIGKILL) in the middle of every money step.

Households are registered and put on 低保 by civil affairs through the households service; subsidies learns the facts
from Kafka, computes and approves the cycle, and is then killed while it builds the batch, exports the bank file,
imports the bank's result, and builds, exports and reconciles the follow-up batch. After each kill the client
retries what it was doing (the same Idempotency-Key, the same bytes), as a finance office would. At the end every
entitlement has exactly one payment, one `SubsidyPaid` and one transfer receipt in households: 0 lost, 0 duplicated.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from shared.db import create_engine
from shared.timeutil import district_today
from tests.e2e.conftest import Platform
from tests.kafka_support import eventually
from tests.support import auth

pytestmark = pytest.mark.e2e

HOUSEHOLDS = 300
FAILING_EVERY = 50  # the bank refuses one line in fifty (an account closed)
VILLAGE = "371523102301"
OFFICE = auth("district_office", sub="office-zhang")
CIVIL_AFFAIRS = auth("dept_civil_affairs", sub="civil-affairs-feed")
PREPARER = auth("finance_officer", sub="cashier-li")
APPROVER = auth("finance_officer", sub="section-chief-wang")
PERIOD = "2020-05"
# Kill points after the request is sent: before the work starts, in the middle of it, around its commit.
KILL_AFTER_S = (0.02, 0.12, 0.3)


async def test_killed_at_every_money_step_the_cycle_is_paid_exactly_once(platform: Platform) -> None:
    run = uuid.uuid4().hex[:6]
    ids = await _register_on_dibao(platform, run)
    await _wait_for_facts(platform, ids)
    await _record_accounts(platform, ids, prefix="6217")
    cycle_id = await _approved_cycle(platform, len(ids))

    first = await _killed_then_retried(platform, lambda: _build(platform, cycle_id, f"build-1-{run}"), KILL_AFTER_S[1])
    assert first["line_count"] == len(ids)
    exported = await _killed_then_retried(platform, lambda: _export(platform, first["id"]), KILL_AFTER_S[0])
    failing = set(range(1, len(ids) + 1, FAILING_EVERY))
    results = _result_file(exported, failing)
    await _killed_then_retried(platform, lambda: _import(platform, first["id"], results), KILL_AFTER_S[2])
    again = await _killed_then_retried(platform, lambda: _import(platform, first["id"], results), KILL_AFTER_S[1])
    assert again["paid_count"] == len(ids) - len(failing)

    await _correct_failed_accounts(platform, first["id"])
    second = await _killed_then_retried(platform, lambda: _build(platform, cycle_id, f"build-2-{run}"), KILL_AFTER_S[0])
    assert second["line_count"] == len(failing)
    follow_up = await _killed_then_retried(platform, lambda: _export(platform, second["id"]), KILL_AFTER_S[2])
    await _killed_then_retried(platform, lambda: _import(platform, second["id"], _result_file(follow_up, set())), 0.05)
    reproduced = await _export(platform, first["id"])
    assert hashlib.sha256(reproduced).hexdigest() == hashlib.sha256(exported).hexdigest()

    await _assert_paid_exactly_once(platform, cycle_id, ids)


async def _register_on_dibao(platform: Platform, run: str) -> list[str]:
    codes = [f"EO{run}{n:05d}" for n in range(HOUSEHOLDS)]
    gate = asyncio.Semaphore(8)

    async def register(code: str) -> str:
        body = {
            "household_code": code,
            "area_code": VILLAGE,
            "head_name": "王秀英",
            "members": [
                {"name": "王秀英", "relationship_to_head": "head", "birth_date": "1956-04-02"},
                {"name": "李建国", "relationship_to_head": "spouse", "birth_date": "1954-09-12"},
            ],
        }
        async with gate:
            r = await client.post("/v1/households", json=body, headers=OFFICE)
            assert r.status_code == 201, r.text
            return str(r.json()["id"])

    rows = [{"household_code": code, "status": "dibao", "effective_on": "2020-01-01"} for code in codes]
    async with platform.client("households") as client:  # one client: a new one per request is a new SSL context
        ids = list(await asyncio.gather(*(register(code) for code in codes)))
        r = await client.post(
            "/v1/department-data/minimum_allowance",
            json={"rows": rows},
            headers={**CIVIL_AFFAIRS, "Idempotency-Key": f"dibao-{run}"},
        )
        assert r.status_code == 201, r.text
        assert r.json()["applied_count"] == len(rows), r.text
    return ids


async def _database(platform: Platform, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(platform.services["subsidies"].env["SUBSIDIES_DATABASE_URL"])
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(sql), params)
            return list(result.all()) if result.returns_rows else []
    finally:
        await engine.dispose()


async def _wait_for_facts(platform: Platform, ids: list[str]) -> None:
    async def all_on_dibao() -> bool:
        rows = await _database(
            platform,
            "SELECT count(*) FROM householdfacts WHERE area_code = :village AND allowance = 'dibao'",
            village=VILLAGE,
        )
        return int(rows[0][0]) >= len(ids)

    await eventually(all_on_dibao, timeout=120, interval=0.5)


async def _record_accounts(platform: Platform, ids: list[str], *, prefix: str) -> None:
    gate = asyncio.Semaphore(8)

    async def record(n: int, hid: str) -> None:
        body = {"bank_code": "RCC3715", "account_no": f"{prefix}{n:014d}", "holder_name": "王秀英"}
        async with gate:
            r = await client.post(f"/v1/households/{hid}/payees", json=body, headers=PREPARER)
            assert r.status_code == 201, r.text

    async with platform.client("subsidies") as client:
        await asyncio.gather(*(record(n, hid) for n, hid in enumerate(ids)))


async def _approved_cycle(platform: Platform, expected: int) -> str:
    async with platform.client("subsidies") as client:
        r = await client.post(
            "/v1/programmes/dibao/funds",
            json={"year": 2020, "amount_fen": 10**11, "source": "区财政 2020-18号"},
            headers=OFFICE,
        )
        assert r.status_code == 201, r.text
        r = await client.post("/v1/cycles", json={"programme_code": "dibao", "period": PERIOD}, headers=PREPARER)
        assert r.status_code == 201, r.text
        cycle_id = str(r.json()["id"])
        r = await client.post(f"/v1/cycles/{cycle_id}/compute", headers=PREPARER)
        assert r.status_code == 200 and r.json()["entitled_count"] == expected, r.text
        notice = {"starts_on": _today(), "ends_on": _today(days=6)}
        r = await client.post(f"/v1/cycles/{cycle_id}/notice", json=notice, headers=PREPARER)
        assert r.status_code == 200, r.text
    # The week of public notice passes: the window is moved into the past rather than waited for.
    await _database(
        platform,
        "UPDATE cycle SET notice_starts_on = notice_starts_on - 8, notice_ends_on = notice_ends_on - 8 WHERE id = :id",
        id=uuid.UUID(cycle_id),
    )
    async with platform.client("subsidies") as client:
        r = await client.post(f"/v1/cycles/{cycle_id}/submit", headers=PREPARER)
        assert r.status_code == 200, r.text
        r = await client.post(f"/v1/cycles/{cycle_id}/approve", headers=APPROVER)
        assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    return cycle_id


def _today(days: int = 0) -> str:
    return (district_today() + timedelta(days=days)).isoformat()


async def _build(platform: Platform, cycle_id: str, key: str) -> dict[str, Any]:
    async with platform.client("subsidies") as client:
        r = await client.post(f"/v1/cycles/{cycle_id}/batches", headers={**PREPARER, "Idempotency-Key": key})
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


async def _export(platform: Platform, batch_id: str) -> bytes:
    body = {"encoding": "gbk", "reason": "2020年5月低保代发, 报送农商行"}
    async with platform.client("subsidies") as client:
        r = await client.post(f"/v1/batches/{batch_id}/bank-file", json=body, headers=PREPARER)
    assert r.status_code == 200, r.text
    return bytes(r.content)


async def _import(platform: Platform, batch_id: str, results: bytes) -> dict[str, Any]:
    async with platform.client("subsidies") as client:
        r = await client.post(
            f"/v1/batches/{batch_id}/bank-results?encoding=gbk",
            content=results,
            headers={**PREPARER, "Content-Type": "text/csv"},
        )
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


def _result_file(exported: bytes, failing: set[int]) -> bytes:
    lines = ["line_no,reference,amount_yuan,status,reason,bank_reference,settled_on"]
    for row in exported.decode("gbk").splitlines()[1:]:
        line_no, _, _, _, amount, _, reference = row.split(",")
        outcome = "failed,account_closed," if int(line_no) in failing else f"paid,,B{line_no}"
        lines.append(f"{line_no},{reference},{amount},{outcome},2020-05-20")
    return ("\r\n".join(lines) + "\r\n").encode("gbk")


async def _killed_then_retried(platform: Platform, step: Callable[[], Awaitable[Any]], kill_after_s: float) -> Any:
    """Start `step`, SIGKILL subsidies `kill_after_s` later, restart it, and do the same step again."""
    subsidies = platform.services["subsidies"]
    attempt = asyncio.create_task(_swallowing(step))
    await asyncio.sleep(kill_after_s)
    subsidies.kill()
    await attempt
    subsidies.start()
    await asyncio.to_thread(subsidies.wait_ready)
    return await step()


async def _swallowing(step: Callable[[], Awaitable[Any]]) -> None:
    """The interrupted attempt: its connection is cut, or it finished just before the kill."""
    try:
        await step()
    except Exception:
        return


async def _correct_failed_accounts(platform: Platform, batch_id: str) -> None:
    async with platform.client("subsidies") as client:
        r = await client.get(f"/v1/batches/{batch_id}/lines?status=failed&limit=500", headers=PREPARER)
        assert r.status_code == 200, r.text
        failed = r.json()["items"]
    households = sorted({line["household_id"] for line in failed})
    await _record_accounts(platform, households, prefix="6228")


async def _assert_paid_exactly_once(platform: Platform, cycle_id: str, ids: list[str]) -> None:
    rows = await _database(
        platform,
        "SELECT count(*), count(DISTINCT e.id), count(DISTINCT p.household_id), coalesce(sum(p.amount_fen), 0) "
        "FROM payment p JOIN cycleentitlement e ON e.id = p.entitlement_id WHERE e.cycle_id = :cycle",
        cycle=uuid.UUID(cycle_id),
    )
    payments, entitlements, households, paid_fen = rows[0]
    listed = await _database(
        platform,
        "SELECT count(*), coalesce(sum(amount_fen), 0) FROM cycleentitlement WHERE cycle_id = :cycle",
        cycle=uuid.UUID(cycle_id),
    )
    assert (payments, entitlements, households) == (len(ids), len(ids), len(ids))
    assert paid_fen == listed[0][1]
    published = await _database(
        platform,
        "SELECT count(*) FROM outbox WHERE event_type LIKE '%subsidy_paid%' AND payload LIKE :cycle",
        cycle=f"%{cycle_id}%",
    )
    assert published[0][0] == len(ids)
    live = await _database(
        platform,
        "SELECT count(*) FROM batchline l JOIN disbursementbatch b ON b.id = l.batch_id "
        "WHERE b.cycle_id = :cycle AND l.status = 'paid'",
        cycle=uuid.UUID(cycle_id),
    )
    assert live[0][0] == len(ids)

    async def households_received_all() -> bool:
        async with platform.client("households") as client:
            counted = 0
            for hid in ids[:: max(1, len(ids) // 20)]:
                r = await client.get(f"/v1/households/{hid}/transfer-receipts?year=2020", headers=OFFICE)
                assert r.status_code == 200, r.text
                counted += len(r.json()["items"]) == 1
        return counted == len(ids[:: max(1, len(ids) // 20)])

    await eventually(households_received_all, timeout=120, interval=1.0)

"""Benchmark: one 低保 cycle of 100,000 entitlements on PostgreSQL, stage by stage, through the service's HTTP API.

    .venv/bin/python bench/subsidies_cycle.py [--households 100000] [--failures 0.02] [--admin-url postgresql+asyncpg://...]

Seeds the facts (households on 低保) and one account per household straight into a fresh, migrated database, then
drives the cycle over the API in-process (the request clock moved through June 2020): compute the list, approve it
(every entitlement re-checked), build the batch, export the bank file, import a result file with `--failures` of the
lines failed, correct those accounts, and pay them in a follow-up batch. Each stage is timed with the process's
resident memory after it. Then it proves exactly once (one payment per entitlement, amounts equal to the list, one
`SubsidyPaid` per payment, the bank file reproduced byte for byte) and, as the raw baseline, times a bare asyncpg
`COPY` of as many rows of a payment's width into a scratch table: each stage's ratio to it is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import httpx
from cpu import machine_speed
from sqlalchemy import func, insert, select, update
from sqlmodel import col

from services.subsidies.app import create_app
from services.subsidies.models import BatchLine, FactChange, HouseholdFacts, MemberFacts, Payee, Payment
from services.subsidies.settings import SubsidiesSettings
from shared.api.clock import request_time
from shared.auth import issue_token
from shared.db import create_engine
from shared.local.databases import admin_url, asyncpg_options, scratch_database
from shared.messaging.outbox import OutboxMessage
from shared.migrations import upgrade_to_head
from shared.settings import DEV_JWT_SECRET

TOWNSHIPS = ("371523101", "371523102", "371523103", "371523104", "371523105")
CHUNK = 10_000
SIZES = (1, 2, 3, 4, 2, 3)  # members per household


def headers(role: str, subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(DEV_JWT_SECRET, subject, [role])}"}


PREPARER = headers("finance_officer", "cashier-li")
APPROVER = headers("finance_officer", "section-chief-wang")
OFFICE = headers("district_office", "office-zhang")


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def at(day: int, hour: int = 2) -> datetime:
    return datetime(2020, 6, day, hour, tzinfo=UTC)


async def seed(url: str, households: int, settings: SubsidiesSettings) -> list[uuid.UUID]:
    """Households on 低保 since 2019 (their facts and the change in the facts' history) with their members, and one
    account per household in the head's name."""
    vault = settings.payee_vault()
    engine = create_engine(url)
    ids = [uuid.UUID(int=h + 1) for h in range(households)]
    try:
        for start in range(0, households, CHUNK):
            facts, members, payees = [], [], []
            history: list[dict[str, Any]] = []
            for h in range(start, min(start + CHUNK, households)):
                hid, size = ids[h], SIZES[h % len(SIZES)]
                area = f"{TOWNSHIPS[h % len(TOWNSHIPS)]}{h // len(TOWNSHIPS) % 60 + 1:03d}"
                facts.append(
                    {
                        "household_id": hid,
                        "area_code": area,
                        "member_count": size,
                        "status": "in_poverty",
                        "allowance": "dibao",
                        "allowance_since": date(2019, 1, 1),
                        "monitoring_open": False,
                        "risk_kinds": [],
                        "updated_at": at(1, 0),
                    }
                )
                history.append(
                    {
                        "household_id": hid,
                        "holder_key": "-",
                        "fact": "household.allowance",
                        "since": date(2019, 1, 1),
                        "member_id": None,
                        "value": "dibao",
                        "recorded_at": at(1, 0),
                    }
                )
                head = uuid.UUID(int=(1 << 64) + h)
                members.extend(
                    {
                        "member_id": head if m == 0 else uuid.uuid4(),
                        "household_id": hid,
                        "relationship_to_head": "head" if m == 0 else "child",
                        "birth_date": date(1960 + m * 20, 3, 1),
                        "name_masked": "王*英",
                    }
                    for m in range(size)
                )
                payees.append(payee_row(vault, hid, head, f"62170000{h:011d}", at(1, 0)))
            async with engine.begin() as conn:
                await conn.execute(insert(HouseholdFacts), facts)
                await conn.execute(insert(FactChange), history)
                await conn.execute(insert(MemberFacts), members)
                await conn.execute(insert(Payee), payees)
    finally:
        await engine.dispose()
    return ids


def payee_row(vault: Any, household_id: uuid.UUID, head: uuid.UUID, account: str, now: datetime) -> dict[str, Any]:
    payee_id = uuid.uuid4()
    sealed = vault.seal(account, "王秀英", payee_id=payee_id)
    return {
        "id": payee_id,
        "household_id": household_id,
        "member_id": None,
        "holder_key": "-",
        "bank_code": "RCC3715",
        "account_kid": sealed.kid,
        "account_ciphertext": sealed.account_ciphertext,
        "account_hash": sealed.account_hash,
        "account_masked": sealed.account_masked,
        "holder_name_ciphertext": sealed.holder_name_ciphertext,
        "holder_name_masked": sealed.holder_name_masked,
        "holder_member_id": head,
        "recorded_by": "bench",
        "recorded_at": now,
    }


class Stages:
    """Times each stage and notes the memory after it."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float]] = []

    async def run(self, name: str, work: Callable[[], Awaitable[Any]]) -> Any:
        gc.collect()
        started = time.perf_counter()
        result = await work()
        elapsed = time.perf_counter() - started
        self.rows.append((name, elapsed, rss_mb()))
        print(f"  {name:<38} {elapsed:6.1f} s   rss {self.rows[-1][2]:5.0f} MB", file=sys.stderr)
        return result


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text[:500])
    return dict(response.json())


def result_file(exported: bytes, failing: set[int]) -> bytes:
    """The bank's answer to an exported file: the lines in `failing` refused (account closed), the rest paid."""
    out = ["line_no,reference,amount_yuan,status,reason,bank_reference,settled_on"]
    for row in exported.decode().splitlines()[1:]:
        line_no, _, _, _, amount, _, reference = row.split(",")
        if int(line_no) in failing:
            out.append(f"{line_no},{reference},{amount},failed,account_closed,,2020-06-12")
        else:
            out.append(f"{line_no},{reference},{amount},paid,,B{line_no},2020-06-12")
    return ("\r\n".join(out) + "\r\n").encode()


async def drive(client: httpx.AsyncClient, app: Any, url: str, households: int, failures: float) -> dict[str, Any]:
    stages = Stages()
    app.dependency_overrides[request_time] = lambda: at(1)
    ok(
        await client.post(
            "/v1/programmes/dibao/funds",
            headers=OFFICE,
            json={"year": 2020, "amount_fen": 10**12, "source": "区财政 2020-18号"},
        ),
        201,
    )
    cycle = ok(
        await client.post("/v1/cycles", headers=PREPARER, json={"programme_code": "dibao", "period": "2020-06"}), 201
    )
    cid = cycle["id"]
    computed = await stages.run("compute the list", lambda: client.post(f"/v1/cycles/{cid}/compute", headers=PREPARER))
    computed = ok(computed)
    ok(
        await client.post(
            f"/v1/cycles/{cid}/notice", headers=PREPARER, json={"starts_on": "2020-06-01", "ends_on": "2020-06-07"}
        )
    )
    app.dependency_overrides[request_time] = lambda: at(8)
    ok(await client.post(f"/v1/cycles/{cid}/submit", headers=PREPARER))
    approved = ok(
        await stages.run(
            "approve (re-check every entitlement)", lambda: client.post(f"/v1/cycles/{cid}/approve", headers=APPROVER)
        )
    )
    app.dependency_overrides[request_time] = lambda: at(9)
    batch = ok(
        await stages.run("build the batch", lambda: client.post(f"/v1/cycles/{cid}/batches", headers=PREPARER)), 201
    )
    export_body = {"encoding": "utf-8", "reason": "2020年6月低保代发"}
    exported = await stages.run(
        "export the bank file",
        lambda: client.post(f"/v1/batches/{batch['id']}/bank-file", headers=PREPARER, json=export_body),
    )
    assert exported.status_code == 200, exported.text[:300]
    step = max(1, round(1 / failures)) if failures else 0
    failing = set(range(1, households + 1, step)) if step else set()
    app.dependency_overrides[request_time] = lambda: at(12, 8)
    imported = await stages.run(
        "import the result file",
        lambda: client.post(
            f"/v1/batches/{batch['id']}/bank-results",
            headers={**PREPARER, "Content-Type": "text/csv"},
            content=result_file(exported.content, failing),
        ),
    )
    ok(imported)
    await correct_accounts(url, failing, batch["id"])
    app.dependency_overrides[request_time] = lambda: at(15)

    async def follow_up() -> None:
        second = ok(await client.post(f"/v1/cycles/{cid}/batches", headers=PREPARER), 201)
        file = await client.post(f"/v1/batches/{second['id']}/bank-file", headers=PREPARER, json=export_body)
        assert file.status_code == 200, file.text[:300]
        ok(
            await client.post(
                f"/v1/batches/{second['id']}/bank-results",
                headers={**PREPARER, "Content-Type": "text/csv"},
                content=result_file(file.content, set()),
            )
        )
        assert second["line_count"] == len(failing), (second["line_count"], len(failing))

    await stages.run(f"follow-up: {len(failing):,} lines built, exported, paid", follow_up)
    again = await client.post(f"/v1/batches/{batch['id']}/bank-file", headers=PREPARER, json=export_body)
    assert hashlib.sha256(again.content).hexdigest() == hashlib.sha256(exported.content).hexdigest()
    return {
        "stages": stages.rows,
        "entitled": computed["entitled_count"],
        "total_fen": approved["total_fen"],
        "cycle": cid,
    }


async def correct_accounts(url: str, failing: set[int], batch_id: str) -> None:
    """The failed holders' new accounts (the village collected them), recorded after the failure."""
    settings = SubsidiesSettings(database_url=url)
    vault, engine = settings.payee_vault(), create_engine(url)
    try:
        async with engine.begin() as conn:
            rows = (
                await conn.execute(
                    select(Payee.household_id, Payee.holder_member_id, Payee.id)
                    .join(BatchLine, col(BatchLine.payee_id) == col(Payee.id))
                    .where(col(BatchLine.batch_id) == uuid.UUID(batch_id), col(BatchLine.status) == "failed")
                )
            ).all()
            assert len(rows) == len(failing), (len(rows), len(failing))
            await conn.execute(update(Payee).where(col(Payee.id).in_([r.id for r in rows])).values(replaced_at=at(13)))
            await conn.execute(
                insert(Payee),
                [
                    payee_row(vault, r.household_id, r.holder_member_id, f"62280000{n:011d}", at(13))
                    for n, r in enumerate(rows)
                ],
            )
    finally:
        await engine.dispose()


async def exactly_once(url: str, entitled: int, total_fen: int) -> str:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            payments = await conn.scalar(select(func.count()).select_from(Payment))
            distinct = await conn.scalar(select(func.count(func.distinct(Payment.entitlement_id))))
            paid_fen = int(await conn.scalar(select(func.sum(Payment.amount_fen))) or 0)
            events = await conn.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(col(OutboxMessage.event_type).like("%subsidy_paid%"))
            )
            live = await conn.scalar(select(func.count()).select_from(BatchLine).where(col(BatchLine.status) == "paid"))
    finally:
        await engine.dispose()
    assert payments == distinct == entitled == events == live, (payments, distinct, entitled, events, live)
    assert paid_fen == total_fen, (paid_fen, total_fen)
    yuan = f"{paid_fen // 100:,}.{paid_fen % 100:02d}"
    return f"{payments:,} payments for {entitled:,} entitlements, {events:,} SubsidyPaid, {yuan} yuan: exactly once"


async def raw_copy(url: str, rows: int) -> float:
    """The baseline: bare asyncpg COPY of `rows` rows as wide as a payment into a scratch table."""
    conn = await asyncpg.connect(**asyncpg_options(url))
    try:
        await conn.execute(
            "CREATE TEMP TABLE raw_payment (id uuid, household_id uuid, entitlement_id uuid, policy_code text, "
            "period text, amount_fen bigint, status text, paid_at timestamptz)"
        )
        records = [
            (uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), "dibao", "2020-06", 77_400, "paid", at(12)) for _ in range(rows)
        ]
        started = time.perf_counter()
        await conn.copy_records_to_table("raw_payment", records=records)
        return time.perf_counter() - started
    finally:
        await conn.close()


async def main(households: int, server_url: str, failures: float) -> None:
    async with scratch_database(server_url, "bench_subsidies") as url:
        engine = create_engine(url)
        await upgrade_to_head(engine, "subsidies")
        await engine.dispose()
        settings = SubsidiesSettings(
            database_url=url, kafka_enabled=False, environment="test", log_level="WARNING", metrics_port=0
        )
        started = time.perf_counter()
        await seed(url, households, settings)
        print(
            f"seeded {households:,} households on 低保 with accounts in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        speed = machine_speed()
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as client:
                outcome = await drive(client, app, url, households, failures)
        proof = await exactly_once(url, outcome["entitled"], outcome["total_fen"])
        raw = await raw_copy(url, households)
    print(f"\none cycle of {outcome['entitled']:,} entitlements (低保, 2020-06), {failures:.0%} failed at the bank")
    print(f"{'stage':<40} {'seconds':>8} {'rss MB':>8} {'x raw COPY':>11}")
    for name, elapsed, rss in outcome["stages"]:
        print(f"{name:<40} {elapsed:8.1f} {rss:8.0f} {elapsed / raw:11.0f}")
    print(f"raw baseline: asyncpg COPY of {households:,} payment-wide rows {raw:.2f} s")
    print(proof)
    print(f"machine speed: {speed}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--failures", type=float, default=0.02)
    parser.add_argument("--admin-url", default=admin_url())
    args = parser.parse_args()
    asyncio.run(main(args.households, args.admin_url, args.failures))

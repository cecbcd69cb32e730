"""An industrial project's whole life across the four services: funded from two lines, built, accepted by an officer
who is not its manager, its asset registered to the village, its income recorded and distributed under an approved
plan (摸底 → 审核 → 批准), the shares paid by subsidies through a batch and the bank's file, the plan accounted for
(报账), and each share counted in its household's asset income (资产收益)."""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest
from sqlalchemy import bindparam, text

from shared.db import create_engine
from tests.e2e.conftest import Platform
from tests.kafka_support import eventually
from tests.support import auth

pytestmark = pytest.mark.e2e

TOWNSHIP = "371523103"  # 博平镇
MANAGER = auth("district_office", sub="manager-zhao")
OFFICE = auth("district_office", sub="office-sun")
FINANCE = auth("finance_officer", sub="cashier-li")
APPROVER = auth("finance_officer", sub="section-chief-wang")
INSPECTOR = auth("inspector", sub="acceptance-li")
INCOME_FEN = 100_001
SET_ASIDE_BP = 2000  # 20 % kept for 双提升 help: 20,000 fen; 80,001 fen shared by members, 1 and 3


async def test_a_project_is_funded_built_accepted_and_its_income_paid_to_the_villages_households(
    platform: Platform,
) -> None:
    village = f"{TOWNSHIP}{random.randint(300, 999)}"
    one = await _register_household(platform, village, members=1)
    three = await _register_household(platform, village, members=3)
    project = await _funded_project(platform, village)
    asset = await _built_and_accepted(platform, project, village)
    await _rolled(platform, {one, three})

    income = await _post(
        platform,
        "projects",
        f"/v1/projects/{project}/income",
        {"asset_id": asset, "period": "2020-06", "amount_fen": INCOME_FEN, "received_on": "2020-06-30"},
        FINANCE,
    )
    plan = await _approved_plan(platform, income["id"], village)
    shares = {s["household_id"]: s["amount_fen"] for s in plan["shares"]}
    assert set(shares) == {one, three}
    assert sum(shares.values()) == INCOME_FEN - INCOME_FEN * SET_ASIDE_BP // 10_000
    assert abs(shares[three] - 3 * shares[one]) <= 3

    await _paid_by_subsidies(platform, plan["id"], shares)
    await eventually(lambda: _plan_in(platform, plan["id"], "paid"), timeout=60)
    accounted = await _post(
        platform, "projects", f"/v1/plans/{plan['id']}/accounting", {"voucher_no": f"记-{village}"}, FINANCE
    )
    assert accounted["status"] == "accounted"
    for household, fen in shares.items():
        await eventually(lambda h=household, f=fen: _asset_income_is(platform, h, f), timeout=60)


async def _register_household(platform: Platform, village: str, *, members: int) -> str:
    body = {
        "household_code": f"PJ-{uuid.uuid4().hex[:10]}",
        "area_code": village,
        "head_name": "户主",
        "members": [
            {"name": f"成员{n}", "relationship_to_head": "head" if n == 0 else "son", "birth_date": "1975-01-01"}
            for n in range(members)
        ],
    }
    return str((await _post(platform, "households", "/v1/households", body, OFFICE))["id"])


async def _funded_project(platform: Platform, village: str) -> str:
    lines = [
        await _post(
            platform,
            "projects",
            "/v1/fund-allocations",
            {
                "source": source,
                "year": 2020,
                "document_no": f"财农〔2020〕{source} {village[-3:]}号",
                "amount_fen": 90_000_000,
            },
            OFFICE,
        )
        for source in ("district", "central")
    ]
    project = await _post(
        platform,
        "projects",
        "/v1/projects",
        {
            "project_code": f"E2E-{village}-{uuid.uuid4().hex[:4]}",
            "name": "博平镇扶贫大棚",
            "kind": "greenhouse",
            "area_code": village,
            "budget_fen": 150_000_000,
            "started_on": "2020-03-01",
            "manager_id": "manager-zhao",
            "manager_name": "赵主任",
        },
        MANAGER,
    )
    pid = project["id"]
    draws = [
        await _post(
            platform,
            "projects",
            f"/v1/projects/{pid}/funding",
            {"allocation_id": line["id"], "amount_fen": fen},
            OFFICE,
        )
        for line, fen in zip(lines, (90_000_000, 60_000_000), strict=True)
    ]
    await _move(platform, pid, "approved", "2020-03-10", acceptance_due_on="2020-08-31")
    for draw in draws:
        spending = {
            "funding_id": draw["id"],
            "amount_fen": draw["amount_fen"],
            "spent_on": "2020-05-20",
            "purpose": "大棚钢架及棚膜",
            "voucher_no": f"记-{draw['id'][:8]}",
        }
        await _post(platform, "projects", f"/v1/projects/{pid}/spending", spending, FINANCE)
    return str(pid)


async def _built_and_accepted(platform: Platform, pid: str, village: str) -> str:
    await _move(platform, pid, "under_construction", "2020-03-15")
    milestone = await _post(
        platform, "projects", f"/v1/projects/{pid}/milestones", {"name": "钢架结构完工", "due_on": "2020-05-31"}, OFFICE
    )
    async with platform.client("projects") as client:
        r = await client.patch(
            f"/v1/projects/{pid}/milestones/{milestone['id']}", json={"completed_on": "2020-05-28"}, headers=OFFICE
        )
        assert r.status_code == 200, r.text
    await _move(platform, pid, "completed", "2020-06-01")
    acceptance = {"accepted_on": "2020-06-10", "officer_name": "验收组 李强", "passed": True, "findings": []}
    async with platform.client("projects") as client:
        r = await client.post(
            f"/v1/projects/{pid}/acceptances", json=acceptance, headers=auth("district_office", sub="manager-zhao")
        )
        assert r.status_code == 403 and r.json()["code"] == "separation_of_duties", r.text
    await _post(platform, "projects", f"/v1/projects/{pid}/acceptances", acceptance, INSPECTOR)
    asset = await _post(
        platform,
        "projects",
        f"/v1/projects/{pid}/assets",
        {
            "description": "扶贫大棚 12 座",
            "value_fen": 150_000_000,
            "owner_kind": "village_collective",
            "owner_area_code": village,
            "operator": "蔬菜种植合作社",
            "agreed_return_bp": 800,
            "registered_on": "2020-06-15",
        },
        OFFICE,
    )
    await _move(platform, pid, "operating", "2020-06-16")
    return str(asset["id"])


async def _move(platform: Platform, pid: str, to_status: str, on: str, **extra: str) -> None:
    body = {"to_status": to_status, "effective_on": on, **extra}
    await _post(platform, "projects", f"/v1/projects/{pid}/transitions", body, OFFICE)


async def _rolled(platform: Platform, households: set[str]) -> None:
    """Projects has heard of both households (households.events) before a plan is prepared from its roll."""
    engine = create_engine(platform.services["projects"].env["PROJECTS_DATABASE_URL"])

    async def known() -> bool:
        async with engine.connect() as conn:
            found = await conn.scalar(
                text("SELECT count(*) FROM rollhousehold WHERE household_id IN :ids").bindparams(
                    bindparam("ids", expanding=True)
                ),
                {"ids": [uuid.UUID(h) for h in households]},
            )
        return found == len(households)

    try:
        await eventually(known, timeout=60)
    finally:
        await engine.dispose()


async def _approved_plan(platform: Platform, income_id: str, village: str) -> dict[str, Any]:
    body = {
        "income_id": income_id,
        "basis": "members",
        "set_asides": [{"purpose": "double_improvement", "share_bp": SET_ASIDE_BP}],
        "note": "2020 年 6 月大棚收益分配",
    }
    plan = await _post(platform, "projects", "/v1/plans", body, auth("village_cadre", sub="cadre-wu", area=village))
    review = {"approve": True, "note": "镇扶贫办审核"}
    await _post(
        platform,
        "projects",
        f"/v1/plans/{plan['id']}/review",
        review,
        auth("township_office", sub="township-ma", area=TOWNSHIP),
    )
    await _post(platform, "projects", f"/v1/plans/{plan['id']}/approval", {}, APPROVER)
    shares = await _get(platform, "projects", f"/v1/plans/{plan['id']}/shares?limit=100", OFFICE)
    return {"id": plan["id"], "shares": shares["items"]}


async def _paid_by_subsidies(platform: Platform, plan_id: str, shares: dict[str, int]) -> None:
    for n, household in enumerate(shares):
        body = {"bank_code": "RCC3715", "account_no": f"6217{random.randint(10**9, 10**10)}{n}", "holder_name": "户主"}
        await _post(platform, "subsidies", f"/v1/households/{household}/payees", body, FINANCE)
    await eventually(lambda: _cycle_of(platform, plan_id), timeout=60)
    async with platform.client("subsidies") as client:
        r = await client.post(f"/v1/cycles/{plan_id}/batches", headers={**FINANCE, "Idempotency-Key": f"b-{plan_id}"})
        assert r.status_code in (200, 201), r.text
        batch = r.json()
        assert batch["line_count"] == len(shares)
        r = await client.post(
            f"/v1/batches/{batch['id']}/bank-file",
            json={"encoding": "gbk", "reason": "项目收益分配代发"},
            headers=FINANCE,
        )
        assert r.status_code == 200, r.text
        lines = ["line_no,reference,amount_yuan,status,reason,bank_reference,settled_on"]
        for row in r.content.decode("gbk").splitlines()[1:]:
            line_no, _, _, _, amount, _, reference = row.split(",")
            lines.append(f"{line_no},{reference},{amount},paid,,B{line_no},2020-07-05")
        r = await client.post(
            f"/v1/batches/{batch['id']}/bank-results?encoding=gbk",
            content=("\r\n".join(lines) + "\r\n").encode("gbk"),
            headers={**FINANCE, "Content-Type": "text/csv"},
        )
        assert r.status_code in (200, 201) and r.json()["paid_count"] == len(shares), r.text


async def _cycle_of(platform: Platform, plan_id: str) -> bool:
    async with platform.client("subsidies") as client:
        r = await client.get(f"/v1/cycles/{plan_id}", headers=FINANCE)
    return r.status_code == 200 and r.json()["status"] == "approved"


async def _plan_in(platform: Platform, plan_id: str, status: str) -> bool:
    return bool((await _get(platform, "projects", f"/v1/plans/{plan_id}", OFFICE))["status"] == status)


async def _asset_income_is(platform: Platform, household: str, fen: int) -> bool:
    summary = await _get(platform, "households", f"/v1/households/{household}/income?year=2020", OFFICE)
    return bool(summary["asset_income_fen"] == fen)


async def _post(platform: Platform, service: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    async with platform.client(service) as client:
        r = await client.post(path, json=body, headers=headers)
        assert r.status_code in (200, 201), f"{path}: {r.text}"
        return r.json()


async def _get(platform: Platform, service: str, path: str, headers: dict[str, str]) -> Any:
    async with platform.client(service) as client:
        r = await client.get(path, headers=headers)
        assert r.status_code == 200, f"{path}: {r.text}"
        return r.json()

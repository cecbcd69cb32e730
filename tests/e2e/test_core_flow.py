"""The flow the product exists for, across four processes: a visit's problem ends at the discipline commission."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from shared.timeutil import district_today
from tests.e2e.conftest import Platform
from tests.kafka_support import eventually
from tests.support import auth

pytestmark = pytest.mark.e2e

VILLAGE = "371523101201"  # a village of 贾寨镇
OFFICE = auth("district_office")
READER = auth("auditor")
COMMISSION = auth("discipline_commission")


def household(code: str) -> dict[str, Any]:
    return {
        "household_code": code,
        "area_code": VILLAGE,
        "head_name": "张三",
        "members": [{"name": "张三", "relationship_to_head": "head", "birth_date": "1958-02-01"}],
    }


async def register(platform: Platform, code: str) -> str:
    async with platform.client("households") as client:
        r = await client.post("/v1/households", json=household(code), headers=OFFICE)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


async def visit(platform: Platform, household_id: str, grade: str = "D") -> None:
    # Visited today: a visit reported weeks later would also be late reporting (迟报), a second finding.
    body = {"round": 2, "visited_on": district_today().isoformat(), "visitor": "王五", "housing_grade": grade}
    async with platform.client("households") as client:
        r = await client.post(
            f"/v1/households/{household_id}/visits", json=body, headers=auth("helper_cadre", area=VILLAGE)
        )
        assert r.status_code == 201, r.text


async def audit_get(platform: Platform, path: str, headers: dict[str, str] = READER) -> list[dict[str, Any]]:
    async with platform.client("audit") as client:
        r = await client.get(path, headers=headers)
        assert r.status_code == 200, r.text
        return list(r.json()["items"])  # the first page (audit's lists are pages)


async def test_d_grade_house_becomes_finding_task_referral_and_open_problem(
    platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    hid = await register(platform, f"E2E-{uuid.uuid4().hex[:6]}")
    started = time.monotonic()
    await visit(platform, hid)
    findings = await eventually(lambda: audit_get(platform, f"/v1/findings?subject_id={hid}"))
    finding = findings[0]  # type: ignore[index]
    referrals = await eventually(lambda: audit_get(platform, f"/v1/referrals?finding_id={finding['id']}", COMMISSION))
    visit_to_referral = time.monotonic() - started
    assert finding["severity"] == "severe" and finding["category"] == "housing"
    tasks = await audit_get(platform, f"/v1/rectification-tasks?finding_id={finding['id']}")
    assert len(tasks) == 1 and tasks[0]["status"] == "open" and tasks[0]["deadline"] > tasks[0]["opened_at"]
    assert tasks[0]["owner"] == "township_office:371523101"
    assert [r["reason"] for r in referrals] == ["severe_finding"]  # type: ignore[union-attr]

    async def open_findings() -> list[dict[str, Any]]:
        async with platform.client("households") as client:
            findings = (await client.get(f"/v1/households/{hid}/open-findings", headers=OFFICE)).json()["items"]
        return [p for p in findings if p["referred"] and p["rectification_deadline"]]

    findings = await eventually(open_findings)
    assert findings[0]["finding_id"] == finding["id"]  # type: ignore[index]
    with capsys.disabled():
        print(f"\nmeasured: visit -> discipline referral {visit_to_referral * 1000:.0f} ms")


async def test_killing_audit_mid_stream_loses_and_duplicates_nothing(platform: Platform) -> None:
    ids = [await register(platform, f"KILL-{n:03d}-{uuid.uuid4().hex[:4]}") for n in range(40)]
    audit = platform.services["audit"]

    async def visits() -> None:
        for hid in ids:
            await visit(platform, hid, grade="C")

    sending = asyncio.create_task(visits())
    await asyncio.sleep(0.3)
    audit.kill()
    await sending
    audit.start()
    await asyncio.to_thread(audit.wait_ready)

    async def all_recorded() -> list[dict[str, Any]] | None:
        findings = [f for f in await audit_get(platform, "/v1/findings?limit=500") if f["subject_id"] in ids]
        return findings if len(findings) >= len(ids) else None

    findings = await eventually(all_recorded, timeout=60)
    await asyncio.sleep(2)  # let any duplicate that would arrive arrive
    findings = [f for f in await audit_get(platform, "/v1/findings?limit=500") if f["subject_id"] in ids]
    assert sorted(f["subject_id"] for f in findings) == sorted(ids)
    assert all(f["occurrences"] == 1 for f in findings)
    tasks = await audit_get(platform, "/v1/rectification-tasks?limit=500")
    finding_ids = {f["id"] for f in findings}
    assert len([t for t in tasks if t["finding_id"] in finding_ids]) == len(ids)

"""Audit end to end, over Kafka with the services as processes: a serious problem found on a visit reaches
the weekly package; a task left past its deadline is referred automatically and households sees it.

The processes cannot be given a fake clock. For the overdue case the district office moves the deadline
(调整整改期限: a real, logged action) to one second after the task opened, and a second audit replica that
runs only the scheduled checks (Kafka off, a 0.5 s interval, the same database) finds it overdue; the main
audit process's outbox relay publishes what that replica wrote.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.audit.rules.periods import IsoWeek
from shared.contracts import AUDIT_TOPIC
from shared.contracts.audit import DisciplineReferralMade, RectificationOverdue
from shared.local.kafka import free_port
from shared.local.processes import ServiceProcess
from tests.e2e.conftest import Platform
from tests.e2e.test_core_flow import COMMISSION, OFFICE, READER, audit_get, register, visit
from tests.kafka_support import eventually, read_until
from tests.support import auth

pytestmark = pytest.mark.e2e

DISTRICT = auth("district_office", sub="district-officer-e2e")


@pytest.fixture
async def scheduler_replica(platform: Platform, tmp_path: Path) -> AsyncIterator[ServiceProcess]:
    """A second audit process on the same database that only runs the scheduled checks, every 0.5 s."""
    port = free_port()
    env = {
        **platform.services["audit"].env,
        "AUDIT_PORT": str(port),
        "AUDIT_METRICS_PORT": str(free_port()),  # its own: the main process holds the platform's
        "AUDIT_KAFKA_ENABLED": "false",
        "AUDIT_OVERDUE_SCAN_INTERVAL_S": "0.5",
    }
    replica = ServiceProcess("audit", port, env, tmp_path / "audit-scheduler.log")
    replica.start()
    try:
        await asyncio.to_thread(replica.wait_ready)
        yield replica
    finally:
        replica.stop()


async def serious_finding_of_a_visit(platform: Platform) -> dict[str, Any]:
    """Register a household and visit it: a C-grade house is a serious housing problem."""
    household = await register(platform, f"AUD-{uuid.uuid4().hex[:6]}")
    await visit(platform, household, grade="C")
    findings = await eventually(lambda: audit_get(platform, f"/v1/findings?subject_id={household}"))
    finding: dict[str, Any] = findings[0]  # type: ignore[index]
    assert (finding["severity"], finding["category"]) == ("serious", "housing")
    return finding


async def household_shows_referred(platform: Platform, household: str, finding_id: str) -> None:
    async def referred() -> bool:
        async with platform.client("households") as client:
            problems = (await client.get(f"/v1/households/{household}/open-findings", headers=OFFICE)).json()["items"]
        return any(p["finding_id"] == finding_id and p["referred"] for p in problems)

    await eventually(referred, timeout=20)


async def test_a_serious_problem_found_on_a_visit_ends_up_in_the_weekly_package(platform: Platform) -> None:
    finding = await serious_finding_of_a_visit(platform)
    async with platform.client("audit") as client:
        handed = (await client.post("/v1/referrals/weekly-handover", headers=DISTRICT)).json()
        week = handed["week"]  # the answer counts; the referrals made are a page of the week's package
        assert week == IsoWeek.of(datetime.fromisoformat(handed["referred_at"])).label and handed["referred"] >= 1
        made = f"/v1/handover-packages/{week}/referrals?reason=weekly_handover&limit=500"
        mine = [r for r in await audit_get(platform, made, COMMISSION) if r["finding_id"] == finding["id"]]
        assert [r["reason"] for r in mine] == ["weekly_handover"]
        package = (await client.get(f"/v1/handover-packages/{week}", headers=COMMISSION)).json()
        as_csv = (await client.get(f"/v1/handover-packages/{week}?format=csv", headers=COMMISSION)).text
        verdict = (await client.get("/v1/ledger/verify", headers=READER)).json()
    leads = [lead for lead in package["leads"] if lead["finding_id"] == finding["id"]]
    assert [(lead["reason"], lead["severity"], lead["subject_id"]) for lead in leads] == [
        ("weekly_handover", "serious", finding["subject_id"])
    ]
    assert f"{mine[0]['id']},{leads[0]['referred_at']},weekly_handover,{finding['id']},serious" in as_csv
    assert verdict["ok"] and verdict["entries_checked"] > 0, verdict
    await household_shows_referred(platform, finding["subject_id"], finding["id"])


async def test_a_task_left_past_its_deadline_is_referred_automatically(
    platform: Platform, scheduler_replica: ServiceProcess
) -> None:
    finding = await serious_finding_of_a_visit(platform)
    task = (await audit_get(platform, f"/v1/rectification-tasks?finding_id={finding['id']}"))[0]
    deadline = datetime.fromisoformat(task["opened_at"]) + timedelta(seconds=1)
    change = {"deadline": deadline.isoformat(), "reason": "限期整改: deadline set by the inspection notice"}
    async with platform.client("audit") as client:
        moved = await client.post(
            f"/v1/rectification-tasks/{task['id']}/deadline-changes", json=change, headers=DISTRICT
        )
        assert moved.status_code == 201, moved.text

    async def referred_as_overdue() -> bool:
        referrals = await audit_get(platform, f"/v1/referrals?finding_id={finding['id']}", COMMISSION)
        return "overdue_task" in [r["reason"] for r in referrals]

    await eventually(referred_as_overdue, timeout=20)
    overdue = (await audit_get(platform, f"/v1/rectification-tasks?finding_id={finding['id']}"))[0]
    assert overdue["overdue_at"] is not None

    def published(records: list[Any]) -> bool:
        """audit.events carries the task's overdue event and the overdue referral, keyed by the finding."""
        mine = [(dict(r.headers)["ce_type"].decode(), json.loads(r.value)) for r in records if r.key == key]
        return (RectificationOverdue.event_type, task["id"]) in [(t, p.get("task_id")) for t, p in mine] and (
            DisciplineReferralMade.event_type,
            "overdue_task",
        ) in [(t, p.get("reason")) for t, p in mine]

    key = finding["id"].encode()
    await read_until(platform.kafka, AUDIT_TOPIC, published, timeout=20)
    await household_shows_referred(platform, finding["subject_id"], finding["id"])


async def test_a_rectification_closed_in_audit_leaves_the_households_open_findings(platform: Platform) -> None:
    finding = await serious_finding_of_a_visit(platform)

    async def households_tracks_it() -> bool:
        async with platform.client("households") as client:
            url = f"/v1/households/{finding['subject_id']}/open-findings"
            problems = (await client.get(url, headers=OFFICE)).json()["items"]
        return finding["id"] in [p["finding_id"] for p in problems]

    await eventually(households_tracks_it, timeout=20)
    task = (await audit_get(platform, f"/v1/rectification-tasks?finding_id={finding['id']}"))[0]
    base = f"/v1/rectification-tasks/{task['id']}"
    worker, inspector = auth("district_office", sub="district-officer-e2e"), auth("inspector", sub="inspector-e2e")
    evidence = {"summary": "house rebuilt", "evidence": [{"kind": "photo", "reference": "archive://2020/06/r1.jpg"}]}
    async with platform.client("audit") as client:
        for path, body, headers in (
            ("start", None, worker),
            ("submissions", evidence, worker),
            ("follow-up-checks", {"passed": True, "notes": "rebuilt, seen on site"}, inspector),
            ("close", None, inspector),
        ):
            response = await client.post(f"{base}/{path}", json=body, headers=headers)
            assert response.status_code in (200, 201), (path, response.text)

    async def gone() -> bool:
        return not await households_tracks_it()

    await eventually(gone, timeout=20)

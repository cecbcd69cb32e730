"""Projects on the backbone: an inspection's problem reaches audit, and audit's finding comes back, across processes."""

from __future__ import annotations

import random
from typing import Any

import pytest

from shared.timeutil import district_today
from tests.e2e.conftest import Platform
from tests.kafka_support import eventually
from tests.support import auth

pytestmark = pytest.mark.e2e

OFFICE = auth("district_office")


TOWNSHIP = "371523104"  # 胡屯镇, one of the district's configured townships


def fresh_village() -> str:
    """A village code of the township that this test's households alone are likely to live in."""
    return f"{TOWNSHIP}{random.randint(300, 999)}"


async def post(platform: Platform, service: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    async with platform.client(service) as client:
        r = await client.post(path, json=body, headers=headers)
        assert r.status_code in (200, 201), r.text
        return r.json()


async def get(platform: Platform, service: str, path: str, headers: dict[str, str]) -> Any:
    async with platform.client(service) as client:
        r = await client.get(path, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()


async def test_project_inspection_problem_reaches_audit_and_back(platform: Platform) -> None:
    village = fresh_village()
    project = await post(
        platform,
        "projects",
        "/v1/projects",
        {
            "project_code": f"GH-{village}",
            "name": "扶贫大棚",
            "kind": "greenhouse",
            "area_code": village,
            "budget_fen": 2_000_000,
            "started_on": "2018-03-01",
            "manager_id": "manager-gao",
            "manager_name": "项目负责人 高",
        },
        OFFICE,
    )
    await post(
        platform,
        "projects",
        f"/v1/projects/{project['id']}/inspections",
        {
            "inspected_on": district_today().isoformat(),  # reported the day found: no late reporting
            "inspector": "项目专班",
            "notes": "两看一及时",
            "problems": [{"code": "greenhouse_idle", "description": "大棚闲置, 未产生收益"}],
        },
        auth("inspector"),
    )

    async def audit_findings() -> list[dict[str, Any]]:
        page = await get(platform, "audit", f"/v1/findings?subject_id={project['id']}", OFFICE)
        return list(page["items"])

    findings = await eventually(audit_findings)
    assert [f["subject_kind"] for f in findings] == ["project"]  # type: ignore[union-attr]

    async def open_findings() -> list[dict[str, Any]]:
        page = await get(platform, "projects", f"/v1/projects/{project['id']}/open-findings", OFFICE)
        return [r for r in page["items"] if r.get("rectification_deadline")]

    followed = await eventually(open_findings)
    assert followed[0]["finding_id"] == findings[0]["id"]  # type: ignore[index]

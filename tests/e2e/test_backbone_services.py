"""Projects and subsidies on the backbone: each consumes and publishes, across processes."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.e2e.conftest import Platform
from tests.kafka_support import eventually
from tests.support import auth

pytestmark = pytest.mark.e2e

OFFICE = auth("district_office")
FINANCE = auth("finance_officer")


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


async def register_household(platform: Platform, village: str, code: str, members: int) -> str:
    body = {
        "household_code": code,
        "area_code": village,
        "head_name": "户主",
        "members": [
            {"name": f"成员{n}", "relationship_to_head": "head" if n == 0 else "son", "birth_date": "1980-01-01"}
            for n in range(members)
        ],
    }
    return str((await post(platform, "households", "/v1/households", body, OFFICE))["id"])


async def test_project_income_is_shared_among_the_townships_households(platform: Platform) -> None:
    village = fresh_village()
    one = await register_household(platform, village, f"INC-{village}-1", members=1)
    three = await register_household(platform, village, f"INC-{village}-2", members=3)
    project = await post(
        platform,
        "projects",
        "/v1/projects",
        {
            "project_code": f"PV-{village}",
            "name": "光伏扶贫电站",
            "kind": "photovoltaic",
            "area_code": TOWNSHIP,
            "budget_fen": 50_000_000,
            "started_on": "2019-04-01",
        },
        OFFICE,
    )

    async def payments_possible() -> bool:
        async with platform.client("subsidies") as client:
            r = await client.post(
                "/v1/payments",
                headers={**FINANCE, "Idempotency-Key": f"dibao-{three}-2020-06"},
                json={"household_id": three, "policy_code": "dibao", "period": "2020-06", "amount_fen": 31_500},
            )
        return r.status_code in (200, 201)  # subsidies knows the household once HouseholdRegistered arrived

    await eventually(payments_possible)
    income = await post(
        platform,
        "projects",
        f"/v1/projects/{project['id']}/income",
        {"period": "2020-06", "amount_fen": 100_001},
        auth("finance_officer"),
    )
    allocations = await eventually(lambda: _allocations(platform, income["id"], {one, three}))
    shares = {a["household_id"]: a["amount_fen"] for a in allocations}  # type: ignore[union-attr]
    assert sum(shares.values()) == 100_001  # every fen of the income, whoever else lives in the township
    assert abs(shares[three] - 3 * shares[one]) <= 3  # shared by members, up to the remainder's single fen


async def _allocations(platform: Platform, income_id: str, ours: set[str]) -> list[dict[str, Any]] | None:
    rows = (await get(platform, "subsidies", f"/v1/allocations?income_id={income_id}&limit=500", FINANCE))["items"]
    return rows if ours <= {r["household_id"] for r in rows} else None


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
        },
        OFFICE,
    )
    await post(
        platform,
        "projects",
        f"/v1/projects/{project['id']}/inspections",
        {
            "inspected_on": "2020-05-20",
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

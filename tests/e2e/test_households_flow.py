"""Households' newer problems cross to audit: a relapse-risk flag and a department's D-grade appraisal (neither
found on a visit, so `visit_id` is null) become findings, and the household sees them as open findings."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from shared.personal_data import check_digit
from shared.timeutil import district_today
from tests.e2e.conftest import Platform
from tests.kafka_support import eventually
from tests.support import auth

pytestmark = pytest.mark.e2e

VILLAGE = "371523102201"  # a village of 冯屯镇
OFFICE = auth("district_office")


def id_number(born: date) -> str:
    first17 = f"371523{born:%Y%m%d}{uuid.uuid4().int % 1000:03d}"
    return first17 + check_digit(first17)


async def findings(platform: Platform, household_id: str) -> list[dict[str, Any]]:
    async with platform.client("audit") as client:
        r = await client.get(f"/v1/findings?subject_id={household_id}", headers=auth("auditor"))
        assert r.status_code == 200, r.text
        return list(r.json()["items"])


async def test_a_flag_and_a_department_appraisal_become_findings(platform: Platform) -> None:
    born = date(1955, 1 + uuid.uuid4().int % 12, 1 + uuid.uuid4().int % 28)
    number = id_number(born)
    body = {
        "household_code": f"E2E-H-{uuid.uuid4().hex[:8]}",
        "area_code": VILLAGE,
        "head_name": "王秀英",
        "members": [
            {"name": "王秀英", "relationship_to_head": "head", "birth_date": born.isoformat(), "id_number": number}
        ],
    }
    async with platform.client("households") as client:
        r = await client.post("/v1/households", json=body, headers=OFFICE)
        assert r.status_code == 201, r.text
        hid = r.json()["id"]
        flag = {"kind": "disaster", "detail": "暴雨", "raised_on": district_today().isoformat()}
        assert (await client.post(f"/v1/households/{hid}/risk-flags", json=flag, headers=OFFICE)).status_code == 201
        # Appraised today: an appraisal sent months later would also be late reporting (迟报), a third finding.
        today = district_today().isoformat()
        row = {"id_number": number, "grade": "D", "appraised_on": today, "appraiser": "区住建局"}
        headers = {**auth("dept_housing"), "Idempotency-Key": f"e2e-{uuid.uuid4().hex}"}
        r = await client.post("/v1/department-data/housing", json={"rows": [row]}, headers=headers)
        assert r.status_code == 201 and r.json()["applied_count"] == 1, r.text

    async def both() -> list[dict[str, Any]] | None:
        found = await findings(platform, hid)
        return found if len(found) >= 2 else None

    found = {f["code"]: f for f in await eventually(both, timeout=30)}  # type: ignore[union-attr]
    assert found["relapse_risk_disaster"]["category"] == "income"
    assert found["housing_unsafe"]["severity"] == "severe"

    async def seen_by_households() -> list[dict[str, Any]] | None:
        async with platform.client("households") as client:
            rows = (await client.get(f"/v1/households/{hid}/open-findings", headers=OFFICE)).json()["items"]
        return rows if len(rows) >= 2 else None

    seen = await eventually(seen_by_households, timeout=30)
    assert {f["code"] for f in seen} == {"relapse_risk_disaster", "housing_unsafe"}  # type: ignore[union-attr]

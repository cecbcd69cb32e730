"""Accountability reaches a named person, across the four processes: a helper cadre's household has a D-grade house
found on a visit; audit's finding names the cadre, its lead to the discipline commission names the cadre, the
government messaging system receives the cadre's notifications through the signed webhook, the commission's
decision and the named notice (实名制通报) start from the cadre's name, and the per-person statistics count them."""

from __future__ import annotations

import hashlib
import hmac
import random
import uuid
from typing import Any

import pytest

from shared.timeutil import district_today
from tests.e2e.conftest import WEBHOOK_SECRET, Platform
from tests.kafka_support import eventually
from tests.support import auth

pytestmark = pytest.mark.e2e

TOWNSHIP = "371523102"  # 冯屯镇
OFFICE = auth("district_office", sub="office-sun")
COMMISSION = auth("discipline_commission", sub="commission-liu")


async def test_a_d_grade_house_reaches_its_helper_cadre_by_name_and_by_webhook(platform: Platform) -> None:
    village = f"{TOWNSHIP}{random.randint(300, 999)}"
    cadre = f"cadre-{uuid.uuid4().hex[:8]}"
    household = await _household_with_cadre(platform, village, cadre)
    today = district_today().isoformat()
    visit = {"round": 3, "visited_on": today, "visitor": "王帮扶", "housing_grade": "D"}
    await _post(
        platform,
        "households",
        f"/v1/households/{household}/visits",
        visit,
        auth("helper_cadre", sub=cadre, area=village),
    )

    finding = await eventually(lambda: _one(platform, f"/v1/findings?subject_id={household}"), timeout=60)
    assert finding is not None
    assert (finding["responsible_person_id"], finding["responsible_person"]) == (cadre, "王帮扶")
    assert finding["responsible_role"] == "helper_cadre" and finding["severity"] == "severe"
    lead = await eventually(lambda: _one(platform, f"/v1/referrals?finding_id={finding['id']}", COMMISSION))
    assert lead is not None and (lead["responsible_person"], lead["responsible_unit"]) == ("王帮扶", "区农业农村局")

    delivered = await eventually(lambda: _delivered(platform, cadre, {"assigned", "referred"}), timeout=60)
    for headers, body in delivered or []:
        assert body["finding_id"] == finding["id"]
        assert _signed(headers, body) and headers["x-poverty-delivery"] == body["id"]

    action = {"kind": "admonishment", "decided_on": today, "notes": "危房整改不及时"}
    recorded = await _post(platform, "audit", f"/v1/referrals/{lead['id']}/accountability-actions", action, COMMISSION)
    assert (recorded["person_name"], recorded["person_unit"]) == ("王帮扶", "区农业农村局")
    async with platform.client("audit") as client:
        r = await client.get(
            "/v1/named-notices", params={"from": today, "to": today, "format": "md"}, headers=COMMISSION
        )
    assert r.status_code == 200 and "王帮扶" in r.text, r.text

    stats = await _get(platform, "audit", f"/v1/statistics/people?from={today}&to={today}&area_code={village}", OFFICE)
    [row] = [row for row in stats["items"] if row["person_id"] == cadre]
    assert row["opened"] >= 1 and row["open"] >= 1 and row["name"] == "王帮扶"


async def _household_with_cadre(platform: Platform, village: str, cadre: str) -> str:
    registered = await _post(
        platform,
        "households",
        "/v1/households",
        {
            "household_code": f"ACC-{uuid.uuid4().hex[:8]}",
            "area_code": village,
            "head_name": "张三",
            "members": [{"name": "张三", "relationship_to_head": "head", "birth_date": "1958-02-01"}],
        },
        OFFICE,
    )
    helper = await _post(
        platform,
        "households",
        "/v1/helper-cadres",
        {"subject": cadre, "name": "王帮扶", "unit": "区农业农村局", "area_code": village},
        OFFICE,
    )
    async with platform.client("households") as client:
        r = await client.put(
            f"/v1/households/{registered['id']}/helper-cadre", json={"helper_cadre_id": helper["id"]}, headers=OFFICE
        )
        assert r.status_code == 200, r.text
    return str(registered["id"])


def _signed(headers: dict[str, str], body: dict[str, Any]) -> bool:
    """The delivery's signature, checked as the messaging system would: HMAC-SHA256 of `<t>.<raw body>`."""
    parts = dict(part.split("=", 1) for part in headers["x-poverty-signature"].split(","))
    raw = body["_raw"].encode()
    expected = hmac.new(WEBHOOK_SECRET.encode(), f"{parts['t']}.".encode() + raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


async def _delivered(
    platform: Platform, person: str, kinds: set[str]
) -> list[tuple[dict[str, str], dict[str, Any]]] | None:
    ours = [(h, b) for h, b in platform.webhook.received if b.get("person_id") == person]
    return ours if kinds <= {b["kind"] for _, b in ours} else None


async def _one(platform: Platform, path: str, headers: dict[str, str] = OFFICE) -> dict[str, Any] | None:
    items = (await _get(platform, "audit", path, headers))["items"]
    return dict(items[0]) if items else None


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

"""`poverty report` against the running services (processes on PostgreSQL, real Kafka): households registered and
visited in a village of this test's own, one visit finding a D-grade house that audit records; the report for the
village states what was registered, visited and found, and writes every file."""

from __future__ import annotations

import argparse
import asyncio
import csv
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from shared.half_year_report import command
from shared.timeutil import district_today
from tests.e2e.conftest import Platform
from tests.kafka_support import eventually
from tests.support import auth, token

pytestmark = pytest.mark.e2e

VILLAGE = "371523105907"  # a village of 温陈街道 no other test uses: its figures are this test's alone
OFFICE = auth("district_office")


async def _register(platform: Platform, n: int) -> list[str]:
    ids = []
    async with platform.client("households") as client:
        for i in range(n):
            body = {
                "household_code": f"E2E-R-{uuid.uuid4().hex[:8]}",
                "area_code": VILLAGE,
                "head_name": f"报告户{i}",
                "members": [{"name": f"报告户{i}", "relationship_to_head": "head", "birth_date": f"1958-04-0{i + 1}"}],
            }
            r = await client.post("/v1/households", json=body, headers=OFFICE)
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
    return ids


async def _visit(platform: Platform, household_id: str, **facts: object) -> None:
    body = {"round": 1, "visited_on": district_today().isoformat(), "visitor": "王五", **facts}
    async with platform.client("households") as client:
        r = await client.post(f"/v1/households/{household_id}/visits", json=body, headers=OFFICE)
        assert r.status_code == 201, r.text


async def _housing_found(platform: Platform) -> bool:
    async with platform.client("audit") as client:
        r = await client.get(f"/v1/findings?area_code={VILLAGE}", headers=auth("auditor"))
    return r.status_code == 200 and any(f["category"] == "housing" for f in r.json()["items"])


def _args(platform: Platform, out: Path) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="poverty")
    command.add_parser(parser.add_subparsers(dest="command"))
    today = district_today()
    services = [f"--{name}={p.base_url}" for name, p in platform.services.items()]
    period = ["--from", (today - timedelta(days=10)).isoformat(), "--to", today.isoformat()]
    token_option = ["--token", token("district_office")]
    return parser.parse_args(["report", *period, "--area-code", VILLAGE, *services, *token_option, "--out", str(out)])


async def test_the_report_states_what_the_services_hold(platform: Platform, tmp_path: Path) -> None:
    households = await _register(platform, 3)
    await _visit(platform, households[0])
    await _visit(platform, households[1], housing_grade="D")
    await eventually(lambda: _housing_found(platform), timeout=30)

    assert await asyncio.to_thread(command.run, _args(platform, tmp_path)) == 0
    rows = list(csv.DictReader((tmp_path / "tables" / "stated_figures.csv").read_text("utf-8-sig").splitlines()))
    stated = {r["figure"]: r for r in rows if r["status"] == "stated"}
    assert stated["households:register.households"]["written"] == "3户"
    assert stated["households:visits.households[round=1]"]["value"] == "2"
    assert stated["households:visits.problems[category=housing]"]["written"] == "1处"  # the D-grade house
    assert stated["projects:count(projects.started by township)"]["value"] == "0"
    assert stated["subsidies:paid.people[programme=pension_premium_subsidy]"]["value"] == "0"
    text = (tmp_path / "report.md").read_text("utf-8")
    assert f"# {VILLAGE} " in text
    assert f"对{VILLAGE}3户建档立卡贫困人口" in text and "其中第一轮2户" in text
    assert "未能读取" not in text
    assert (tmp_path / "report.html").read_text("utf-8").lstrip().lower().startswith("<!doctype html")
    assert (tmp_path / "report.xlsx").stat().st_size > 0

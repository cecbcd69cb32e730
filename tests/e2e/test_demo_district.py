"""`poverty demo` builds the demo district through the services' APIs (a smaller district here: the build takes the
number of households, and every count scales with it; the loop check builds the full one). What it made is read
back through the APIs, and building again changes nothing (bad options: tests/unit/test_demo_district.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.local.demo_district.build import build
from shared.local.demo_district.population import Population, Targets
from tests.e2e.district_support import own_platform
from tests.support import auth

pytestmark = pytest.mark.e2e

OFFICE = auth("district_office")
HALF_YEAR = {"from": "2020-01-01", "to": "2020-06-30"}
COUNT = 200
DISTRICT_TIME = timedelta(hours=8)


def _figures(part: dict[str, Any]) -> dict[tuple[str, tuple[tuple[str, str], ...]], int]:
    return {(f["key"], tuple(sorted(f["by"].items()))): f["value"] for f in part["figures"]}


async def _reports(urls: dict[str, str]) -> dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], int]]:
    async with httpx.AsyncClient(timeout=30) as client:
        parts = {}
        for service, url in urls.items():
            response = await client.get(f"{url}/v1/report", params=HALF_YEAR, headers=OFFICE)
            assert response.status_code == 200, response.text
            parts[service] = _figures(response.json())
        return parts


async def _items(client: httpx.AsyncClient, path: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor: dict[str, str] = {}
    while True:
        page = (await client.get(path, params={"limit": 500, **cursor})).json()
        found += page["items"]
        if not page["next_cursor"]:
            return found
        cursor = {"cursor": page["next_cursor"]}


async def _closed_tasks(audit_url: str) -> list[tuple[date, dict[str, Any]]]:
    """Each closed task with its finding's day found."""
    async with httpx.AsyncClient(base_url=audit_url, timeout=30, headers=OFFICE) as client:
        tasks = await _items(client, "/v1/rectification-tasks")
        findings = await _items(client, "/v1/findings")
    found_on = {f["id"]: date.fromisoformat(f["found_on"]) for f in findings if f["found_on"]}
    return [(found_on[t["finding_id"]], t) for t in tasks if t["status"] == "closed"]


def _day(moment: str) -> date:
    return (datetime.fromisoformat(moment).astimezone(UTC) + DISTRICT_TIME).date()


@pytest.mark.usefixtures("settled_heap")
async def test_the_demo_district_is_built_through_the_apis_and_once(tmp_path: Path) -> None:
    targets = Targets().scaled(COUNT)
    people = Population(targets).people
    async with own_platform(tmp_path) as district:
        summary = await asyncio.to_thread(build, district.urls, district.databases, households_count=COUNT)
        assert summary[0].startswith(f"demo district: {COUNT} households ({COUNT} imported now)"), summary
        made = await _reports(district.urls)
        h, s, p = made["households"], made["subsidies"], made["projects"]
        assert h[("register.households", ())] == COUNT
        assert [h[("visits.households", (("round", r),))] for r in "123"] == [COUNT] * 3
        assert (h[("housing.appraised", (("grade", "C"),))], h[("housing.appraised", (("grade", "D"),))]) == (
            targets.grade_c,
            targets.grade_d,
        )
        assert (h[("housing.renovated", ())], h[("housing.outstanding", ())]) == (targets.grade_c + targets.grade_d, 0)
        assert h[("visits.problems", (("category", "housing"),))] == targets.housing_problems
        assert h[("water.checked", ())] == COUNT
        assert h[("monitoring.households", ())] == targets.monitored_at_end
        assert h[("schooling.students", ())] == targets.students
        assert h[("medical.chronic_approved", ())] == targets.chronic
        assert h[("disability.certified", ())] == targets.certified
        assert h[("income.per_capita_average", (("year", "2020"),))] > 450_000

        def paid(key: str, programme: str) -> int:
            return s[(key, (("programme", programme),))]

        assert (paid("enrolled.new_households", "dibao"), paid("enrolled.new_people", "dibao")) == (
            targets.dibao_households,
            targets.dibao_people,
        )
        assert paid("enrolled.new_people", "extreme_poverty_support") == targets.extreme_people
        assert paid("paid.person_times", "temporary_assistance") == targets.monitored
        assert paid("paid.people", "rain_and_dew_education_aid") == targets.vocational
        assert paid("paid.amount", "rain_and_dew_education_aid") == targets.vocational * 150_000
        assert paid("paid.people", "pension_premium_subsidy") == sum(person.working_age for person in people)
        assert sum(person.working_age for person in people) == targets.working_age

        assert (p[("posts.held", ())], p[("posts.allowances", ())]) == (targets.posts, targets.posts * 90_000)
        assert p[("income.set_aside", (("purpose", "double_improvement"),))] == 50_380_000
        assert p[("projects.by_status", (("status", "operating"),))] == 86

        a = made["audit"]
        assert a[("findings.found", (("category", "schooling"),))] == targets.dropouts
        assert a[("findings.found", (("category", "housing"),))] == (
            targets.housing_problems + targets.grade_c + targets.grade_d
        )
        done = summary.rectification
        assert a[("findings.found", ())] == done.found
        assert a[("findings.rectified", ())] == done.rectified >= targets.housing_problems + targets.dropouts
        assert a[("findings.rectification_rate", ())] == done.rate > 0
        assert a[("referrals.made", ())] == 0, "audit recorded the findings today: no handover reaches 2020"
        closed = await _closed_tasks(district.urls["audit"])
        assert len(closed) == done.rectified
        for found_on, task in closed:
            steps = [_day(task[f"{step}_at"]) for step in ("started", "verified", "closed")]
            assert found_on <= steps[0] <= steps[1] <= steps[2] <= date(2020, 6, 30), (found_on, task)
        again = await asyncio.to_thread(build, district.urls, district.databases, households_count=COUNT)
        assert again[0].startswith(f"demo district: {COUNT} households (0 imported now)"), again
        assert "(0 now;" in again[-2], again
        assert all(line.endswith("(loaded earlier)") for line in again if " 2020" in line and "closed" in line)
        assert await _reports(district.urls) == made

"""The demo district's findings (问题) in audit, rectified the way the district rectifies them.

Audit records a finding for every problem the half year's visits, appraisals, monitoring flags, project inspections
and the coverage check found (and, for each reported more than a week after it was found, as all of the demo's
are, a finding of late reporting against whoever reported it). Once audit holds them, the demo rectifies (整改)
the housing and 控辍保学 problems, the project inspections' general problems and the flags of the households whose
monitoring closed: each task started and submitted with evidence by its township's office, checked (回头看) by an
inspector of the district, and closed. The severe project problem, the coverage gaps, the households still under
monitoring and the late reporting stay open, overdue; audit refers them to the discipline commission (a severe
finding at once, an overdue task by its scheduled check, the serious ones by the weekly handover the district
office makes now).

Each step is dated in the half year, as the district took it: started two to six days after the problem was found,
submitted three to seventeen days later, checked and closed one to five days after that, never after 2020-06-30 —
through an audit app in this process on the running service's database with the request clock moved
(`clock.in_process`, as subsidies and projects do), so that the half year's report counts them rectified. The
findings themselves are recorded today (audit records a finding when it hears of it; they keep the day found,
`found_on`), and a handover takes only findings recorded before it, so the serious ones are handed over today, live:
no referral falls in 2020; and a task the running service's scheduled check has marked overdue (all are: their
deadline is the moment they were recorded) is submitted late, today, whatever day the demo gives (audit keeps a late
submission late). Loading again takes only the tasks not closed yet.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from shared.local.demo_district.calls import OFFICE, Calls, each, signed
from shared.local.demo_district.clock import Moved, in_process
from shared.local.demo_district.population import Population
from shared.local.demo_subsidies import DemoError

FINDINGS_TIMEOUT_S = 300.0
PERIOD = {"from": "2020-01-01", "to": "2020-06-30"}
INSPECTOR = signed("inspector", "demo-inspector-audit")
RECTIFIED = ("housing", "schooling", "project", "income")
FIRST, LAST = date(2020, 1, 1), date(2020, 6, 30)
STEPS = ("start", "submissions", "follow-up-checks", "close")
FIRST_STEP = {"open": 0, "reopened": 0, "in_progress": 1, "submitted": 2, "verified": 3}  # by the task's status
HOURS = (9, 11, 14, 16)  # each step's hour in the district: in order even when two steps fall on one day


@dataclass(frozen=True)
class Rectification:
    """What the demo made audit hold for the half year: findings found in it, those rectified (closed) in it, and
    those both found and rectified in it."""

    found: int
    rectified: int
    found_and_rectified: int

    @property
    def rate(self) -> int:
        """整改率 as audit's report states it: basis points, rounded down."""
        return self.found_and_rectified * 10_000 // self.found


def expected(population: Population) -> dict[str, int]:
    """The findings found in the half year audit must hold before the demo rectifies them, by category."""
    homes = population.homes
    problems = [c for h in homes for c, _, _ in h.problems]
    return {
        "housing": problems.count("housing") + sum(1 for h in homes if h.grade and h.grade[0] in "CD"),
        "schooling": problems.count("schooling"),
        "income": sum(1 for h in homes if h.monitored),
    }


async def rectify(
    api: Calls, database_url: str, population: Population, households: dict[str, Any]
) -> tuple[list[str], Rectification]:
    """Wait for the half year's findings, rectify those the district rectified on days in the half year, hand the
    serious ones over; the summary's line and what the half year now holds."""
    await _await_findings(api, expected(population))
    chosen = await _chosen(api, population, households)
    tasks = {t["finding_id"]: t for t in await api.items("/v1/rectification-tasks")}
    todo = [(f, tasks[f["id"]]) for f in chosen if tasks[f["id"]]["status"] != "closed"]
    async with in_process("audit", database_url) as app:
        await _take_steps(app, todo)
    handover = await api.send("POST", "/v1/referrals/weekly-handover", OFFICE)
    report = await api.send("GET", "/v1/report", OFFICE, params=PERIOD)
    found = next(f["value"] for f in report["figures"] if f["key"] == "findings.found" and not f["by"])
    done = Rectification(found, len(chosen), sum(date.fromisoformat(f["found_on"]) >= FIRST for f in chosen))
    line = (
        f"audit: {found} findings found in the half year, {done.rectified} rectified in it ({len(todo)} now; "
        f"rate {done.rate / 100:.2f} %), {handover['referred']} serious ones handed over to the discipline "
        "commission today"
    )
    return [line], done


async def _chosen(api: Calls, population: Population, households: dict[str, Any]) -> list[dict[str, Any]]:
    """The findings of the half year the district rectified: housing, 控辍保学, the projects' not severe, and the
    flags of the households whose monitoring closed."""
    closed_households = {households[h.code]["id"] for h in population.homes if h.monitored and h.monitored[1]}
    chosen = []
    for category in RECTIFIED:
        for finding in await api.items("/v1/findings", category=category):
            if finding["found_on"] is None or date.fromisoformat(finding["found_on"]) > LAST:
                continue
            if category == "project" and finding["severity"] == "severe":
                continue
            if category == "income" and finding["subject_id"] not in closed_households:
                continue
            chosen.append(finding)
    return chosen


def step_days(found_on: date, seed: int) -> list[date]:
    """The days of a task's four steps: started 2-6 days after the problem was found, submitted 3-17 days later,
    checked (回头看) 1-5 days after that and closed the same day; none after the half year's last day."""
    days, day = [], found_on
    for gap in (2 + seed % 5, 3 + seed // 5 % 15, 1 + seed // 75 % 5, 0):
        day = min(day + timedelta(days=gap), LAST)
        days.append(day)
    return days


async def _take_steps(app: Moved, todo: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    """Each task's remaining steps in order, each at its own moment; the tasks side by side (each keeps its own
    moment: `Moved.at`)."""

    async def steps(finding: dict[str, Any], task: dict[str, Any]) -> None:
        days = step_days(date.fromisoformat(finding["found_on"]), UUID(finding["id"]).int)
        for n in range(FIRST_STEP[task["status"]], len(STEPS)):
            app.at(days[n], HOURS[n])
            await _step(app, days[n], n, task)

    await each(todo, lambda pair: steps(*pair))


async def _step(app: Moved, day: date, n: int, task: dict[str, Any]) -> None:
    """Started and submitted by the owning township's office, checked and closed by a district inspector."""
    township = task["owner"].rpartition(":")[2]
    owner = signed("township_office", f"demo-township-{township}", township)
    bodies: dict[str, tuple[dict[str, str], dict[str, Any] | None]] = {
        "start": (owner, None),
        "submissions": (
            owner,
            {
                "summary": "已整改到位, 镇村两级验收",
                "evidence": [{"kind": "photo", "reference": f"archive://{day:%Y/%m}/{task['finding_id']}.jpg"}],
            },
        ),
        "follow-up-checks": (INSPECTOR, {"passed": True, "notes": "回头看: 入户查看, 整改属实"}),
        "close": (INSPECTOR, None),
    }
    who, body = bodies[STEPS[n]]
    await app.send("POST", f"/v1/rectification-tasks/{task['id']}/{STEPS[n]}", who, json=body)


async def _await_findings(api: Calls, wanted: dict[str, int]) -> None:
    deadline = time.monotonic() + FINDINGS_TIMEOUT_S
    while True:
        report = await api.send("GET", "/v1/report", OFFICE, params=PERIOD)
        held = {
            f["by"]["category"]: f["value"]
            for f in report["figures"]
            if f["key"] == "findings.found" and f["by"].get("category")
        }
        short = {c: (held.get(c, 0), n) for c, n in wanted.items() if held.get(c, 0) < n}
        if not short:
            return
        if time.monotonic() > deadline:
            raise DemoError(f"audit holds fewer findings than the half year found (held, found): {short}")
        await asyncio.sleep(1)

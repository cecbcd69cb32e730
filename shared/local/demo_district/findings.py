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

Audit records each step at the moment it is taken: the rectifications are today's, not the half year's (the
findings themselves keep the day they were found). Loading again takes only the tasks not closed yet.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from shared.local.demo_district.calls import OFFICE, Calls, each, signed
from shared.local.demo_district.population import Population
from shared.local.demo_subsidies import DemoError

FINDINGS_TIMEOUT_S = 300.0
PERIOD = {"from": "2020-01-01", "to": "2020-06-30"}
INSPECTOR = signed("inspector", "demo-inspector-audit")
RECTIFIED = ("housing", "schooling", "project", "income")


def expected(population: Population) -> dict[str, int]:
    """The findings found in the half year audit must hold before the demo rectifies them, by category."""
    homes = population.homes
    problems = [c for h in homes for c, _, _ in h.problems]
    return {
        "housing": problems.count("housing") + sum(1 for h in homes if h.grade and h.grade[0] in "CD"),
        "schooling": problems.count("schooling"),
        "income": sum(1 for h in homes if h.monitored),
    }


async def rectify(api: Calls, population: Population, households: dict[str, Any]) -> list[str]:
    """Wait for the half year's findings, rectify those the district rectified, hand the serious ones over."""
    await _await_findings(api, expected(population))
    closed_households = {households[h.code]["id"] for h in population.homes if h.monitored and h.monitored[1]}
    chosen = []
    for category in RECTIFIED:
        for finding in await api.items("/v1/findings", category=category):
            in_half_year = finding["found_on"] is not None and finding["found_on"] <= PERIOD["to"]
            if category == "project":
                chosen += [finding] if finding["severity"] != "severe" else []
            elif category == "income":
                chosen += [finding] if finding["subject_id"] in closed_households and in_half_year else []
            elif in_half_year:
                chosen.append(finding)
    tasks = {t["finding_id"]: t for t in await api.items("/v1/rectification-tasks")}
    todo = [tasks[f["id"]] for f in chosen if f["id"] in tasks and tasks[f["id"]]["status"] != "closed"]
    await each(todo, lambda task: _rectify(api, task))
    handover = await api.send("POST", "/v1/referrals/weekly-handover", OFFICE)
    report = await api.send("GET", "/v1/report", OFFICE, params=PERIOD)
    found = next(f["value"] for f in report["figures"] if f["key"] == "findings.found" and not f["by"])
    return [
        f"audit: {found} findings found in the half year; {len(todo)} rectified now (of {len(chosen)} the district "
        f"rectifies), {handover['referred']} serious ones handed over to the discipline commission",
    ]


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


async def _rectify(api: Calls, task: dict[str, Any]) -> None:
    """Started and submitted by the owning township's office, checked and closed by a district inspector."""
    path = f"/v1/rectification-tasks/{task['id']}"
    township = task["owner"].rpartition(":")[2]
    owner = signed("township_office", f"demo-township-{township}", township)
    steps = {
        "open": ("start", owner, None),
        "reopened": ("start", owner, None),
        "in_progress": (
            "submissions",
            owner,
            {
                "summary": "已整改到位, 镇村两级验收",
                "evidence": [{"kind": "photo", "reference": f"archive://2020/06/{task['finding_id']}.jpg"}],
            },
        ),
        "submitted": ("follow-up-checks", INSPECTOR, {"passed": True, "notes": "回头看: 入户查看, 整改属实"}),
        "verified": ("close", INSPECTOR, None),
    }
    status = task["status"]
    while status in steps:
        step, who, body = steps[status]
        await api.send("POST", f"{path}/{step}", who, json=body)
        status = (await api.get(path))["status"]

"""The demo district's households: registered by the import, then the departments' data of the half year through
the households API, in bulk — civil affairs' 低保 / 特困供养, health's chronic-disease approvals, housing's
appraisals and water's checks (the officers' records follow in `half_year`).

The import registers every household as of 30 June 2020, 10:00 in the district: the roll of a past period is the
households registered by its end (households' "Report figures"), so a district entered today would have no roll in
2020. `poverty import` takes the run's time from the clock; the demo runs the same importer (same rows, validation,
history and events) with that one time moved, as demo_subsidies moves the request clock of a cycle's stages.
Loading again changes nothing: the import and each department batch (under a key of its rows) are idempotent.
"""

from __future__ import annotations

import csv
import hashlib
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.households.domain.imports.rows import OPTIONAL, REQUIRED
from shared.local.demo_district.calls import Calls, each, signed
from shared.local.demo_district.population import Population
from shared.local.demo_subsidies import DemoError

REGISTERED_AT = datetime(2020, 6, 30, 2, tzinfo=UTC)
DEPARTMENT_ROWS = 5000


# The import's columns (households' "Bulk import"), in the order the rows below fill them.
COLUMNS = (*REQUIRED, *OPTIONAL)


def write_csv(population: Population, path: Path) -> None:
    """The import's file: one row per member (households' "Bulk import" columns)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(COLUMNS)
        for home in population.homes:
            for p in home.members:
                disability = (
                    [p.disability[0], str(p.disability[1]), p.disability[2].isoformat()] if p.disability else []
                )
                out.writerow(
                    [
                        home.code,
                        home.area_code,
                        home.head.name,
                        p.name,
                        p.relationship,
                        p.born.isoformat(),
                        p.id_number,
                        "true",
                        "able" if p.able else "",
                        p.enrolment,
                        p.stage,
                        *(disability or ["", "", ""]),
                    ]
                )


async def register(population: Population, database_url: str) -> int:
    """Import the district's households (those imported before are left as they are); how many it created."""
    from services.households.domain.imports.importer import HouseholdImporter
    from services.households.domain.imports.sources import open_table
    from services.households.settings import HouseholdsSettings
    from shared.db import create_engine

    settings = HouseholdsSettings(database_url=database_url)
    engine = create_engine(database_url)
    refused: list[str] = []
    try:
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / "households.csv"
            write_csv(population, path)
            importer = HouseholdImporter(engine, settings, actor="demo-district-import")
            with open_table(path) as table:
                report = await importer.run(
                    table,
                    now=REGISTERED_AT,
                    today=REGISTERED_AT.date(),
                    on_error=lambda e: refused.append(f"line {e.line} {e.field}: {e.message}"),
                )
    finally:
        await engine.dispose()
    if refused:
        raise DemoError(f"the import refused {len(refused)} rows: {refused[:5]}")
    return report.households_created


async def registered(api: Calls, population: Population) -> dict[str, dict[str, Any]]:
    """The district's households as households reads them, by code."""
    villages = sorted({home.area_code for home in population.homes})
    pages = await each(villages, lambda village: api.items("/v1/households", area_code=village))
    codes = {home.code for home in population.homes}
    found = {h["household_code"]: h for page in pages for h in page if h["household_code"] in codes}
    if len(found) != len(codes):
        raise DemoError(f"households lists {len(found)} of the {len(codes)} households imported")
    return found


async def department_data(api: Calls, population: Population) -> None:
    """Civil affairs' allowances, health's chronic-disease approvals, housing's appraisals, water's checks."""
    homes, people = population.homes, population.people
    await _submit(
        api,
        "minimum_allowance",
        "dept_civil_affairs",
        [
            {"household_code": h.code, "status": h.allowance[0], "effective_on": h.allowance[1].isoformat()}
            for h in homes
            if h.allowance
        ],
    )
    await _submit(
        api,
        "chronic_disease",
        "dept_health",
        [
            {"id_number": p.id_number, "disease": "高血压", "approved_on": p.chronic_on.isoformat()}
            for p in people
            if p.chronic_on
        ],
    )
    await _submit(
        api,
        "housing",
        "dept_housing",
        [
            {
                "household_code": h.code,
                "grade": h.grade[0],
                "appraised_on": h.grade[1].isoformat(),
                "appraiser": "区住建局",
            }
            | ({"renovation_due": "2020-06-30"} if h.grade[0] in "CD" else {})
            for h in homes
            if h.grade
        ],
    )
    await _submit(
        api,
        "water",
        "dept_water",
        [
            {
                "household_code": h.code,
                "checked_on": f"2020-05-{1 + h.index % 28:02d}",
                "source": "piped",
                "problems": [],
            }
            for h in homes
        ],
    )


async def _submit(api: Calls, kind: str, role: str, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), DEPARTMENT_ROWS):
        chunk = rows[start : start + DEPARTMENT_ROWS]
        key = f"demo-district-{kind}-" + hashlib.sha256(json.dumps(chunk).encode()).hexdigest()[:16]
        report = await api.send(
            "POST", f"/v1/department-data/{kind}", signed(role, "demo-" + role), key=key, json={"rows": chunk}
        )
        if report["error_count"]:
            raise DemoError(f"{kind}: {report['error_count']} rows refused: {report['errors'][:3]}")

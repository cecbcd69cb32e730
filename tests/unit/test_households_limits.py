"""The bounds a household's records keep (the `maxItems` their read models state): one more is a 409 that
changes nothing, and a department submission's report keeps at most a few errors per row."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from services.households.domain import income, monitoring
from services.households.domain.departments.batches import RowRefusal, capped
from services.households.domain.imports.importer import HouseholdImporter
from services.households.domain.imports.rows import OPTIONAL, REQUIRED
from services.households.domain.imports.sources import open_table
from services.households.domain.imports.writer import TOO_MANY_MEMBERS
from services.households.models import HouseholdChange, IncomeRecord, Member, MonitoringMeasure
from services.households.rules.limits import MAX_EPISODE_FLAGS, MAX_ERRORS_PER_ROW, MAX_GAPS, MAX_MEMBERS
from services.households.schemas import guarantees as guarantee_bodies
from services.households.schemas import monitoring as monitoring_bodies
from services.households.settings import HouseholdsSettings
from shared.api.clock import request_time
from shared.contracts.households import RiskKind
from shared.db import create_engine
from shared.timeutil import district_today, utcnow
from tests.support import assert_problem
from tests.unit.test_households_helpers import OFFICE, VILLAGE, count, household, households_app, make_id, member


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with households_app(sqlite_url) as (app, client):
        app.dependency_overrides[request_time] = lambda: datetime(2020, 12, 1, 4, tzinfo=UTC)
        yield app, client


def crowd(n: int) -> list[dict[str, Any]]:
    return [member(f"成员{i}", "head" if i == 0 else "son", date(1960, 3, 1), seq=i + 1) for i in range(n)]


async def test_a_household_takes_at_most_thirty_members(api: Any) -> None:
    app, client = api
    r = await client.post("/v1/households", json=household("LIM-1", VILLAGE, *crowd(MAX_MEMBERS)), headers=OFFICE)
    assert r.status_code == 201, r.text
    hid = r.json()["id"]
    too_big = household("LIM-2", VILLAGE, *crowd(MAX_MEMBERS + 1))
    assert_problem(await client.post("/v1/households", json=too_big, headers=OFFICE), 422)
    changes = await count(app, HouseholdChange)
    one_more = member("又一个", "son", date(2001, 1, 1), seq=900)
    body = assert_problem(await client.post(f"/v1/households/{hid}/members", json=one_more, headers=OFFICE), 409)
    assert str(MAX_MEMBERS) in body["detail"]
    assert await count(app, Member) == MAX_MEMBERS and await count(app, HouseholdChange) == changes
    r = await client.get(f"/v1/households/{hid}/assessment", headers=OFFICE)
    assert r.status_code == 200, r.text
    assert len(r.json()["gaps"]) <= MAX_GAPS


async def test_a_year_takes_a_bounded_number_of_income_records(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app, client = api
    monkeypatch.setattr(income, "MAX_INCOME_RECORDS_PER_YEAR", 2)
    hid = (await client.post("/v1/households", json=household("LIM-3"), headers=OFFICE)).json()["id"]
    record = guarantee_bodies.IncomeRecordCreate.example
    for _ in range(2):
        r = await client.post(f"/v1/households/{hid}/income-records", json=record, headers=OFFICE)
        assert r.status_code == 201, r.text
    r = await client.post(f"/v1/households/{hid}/income-records", json=record, headers=OFFICE)
    assert "2" in assert_problem(r, 409)["detail"]
    assert await count(app, IncomeRecord) == 2
    other_year = {**record, "year": record["year"] - 1}
    r = await client.post(f"/v1/households/{hid}/income-records", json=other_year, headers=OFFICE)
    assert r.status_code == 201, r.text  # the bound is per year


async def test_an_episode_takes_a_bounded_number_of_measures(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app, client = api
    monkeypatch.setattr(monitoring, "MAX_EPISODE_MEASURES", 2)
    hid = (await client.post("/v1/households", json=household("LIM-4"), headers=OFFICE)).json()["id"]
    flag = monitoring_bodies.RiskFlagCreate.example
    episode = (await client.post(f"/v1/households/{hid}/risk-flags", json=flag, headers=OFFICE)).json()
    measure = monitoring_bodies.MeasureCreate.example
    at = f"/v1/monitoring-episodes/{episode['id']}/measures"
    for _ in range(2):
        r = await client.post(at, json=measure, headers=OFFICE)
        assert r.status_code == 201, r.text
    assert_problem(await client.post(at, json=measure, headers=OFFICE), 409)
    assert await count(app, MonitoringMeasure) == 2


def test_an_episode_takes_each_kind_of_flag_once() -> None:
    assert len(RiskKind) == MAX_EPISODE_FLAGS


def test_a_report_keeps_the_first_errors_of_each_row() -> None:
    many = [RowRefusal(row=r, field=f"f{i}", message="m", code="c") for r in (0, 1) for i in range(50)]
    kept = capped(many)
    assert len(kept) == 2 * MAX_ERRORS_PER_ROW
    assert kept[:MAX_ERRORS_PER_ROW] == many[:MAX_ERRORS_PER_ROW]


def test_no_configuration_allows_more_rows_than_the_report_bounds() -> None:
    with pytest.raises(ValueError, match="department_max_rows"):
        HouseholdsSettings(department_max_rows=10_001)


async def test_an_import_adds_no_member_beyond_thirty(sqlite_url: Any, tmp_path: Path) -> None:
    async with households_app(sqlite_url) as (app, _):
        url = str(app.state.runtime.settings.database_url)
        header = [*REQUIRED, *OPTIONAL]
        rows = []
        for i in range(MAX_MEMBERS + 2):
            values = {
                "household_code": "LIM-IM",
                "area_code": VILLAGE,
                "head_name": "户主",
                "member_name": f"成员{i}",
                "relationship_to_head": "head" if i == 0 else "son",
                "birth_date": "1960-03-01",
                "id_number": make_id(date(1960, 3, 1), i + 1),
            }
            rows.append([values.get(column, "") for column in header])
        path = tmp_path / "many.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
        for _ in range(2):  # and again: the stored members count
            engine = create_engine(url)
            errors: list[Any] = []
            try:
                importer = HouseholdImporter(engine, HouseholdsSettings(), actor="t", chunk=1000, workers=0)
                with open_table(path) as table:
                    now = utcnow()
                    await importer.run(table, now=now, today=district_today(now), on_error=errors.append)
            finally:
                await engine.dispose()
            assert [e.message for e in errors] == [TOO_MANY_MEMBERS] * 2
            assert await count(app, Member) == MAX_MEMBERS

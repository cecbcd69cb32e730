"""`make up`'s demo data, loaded as `poverty up` loads it: the platform's own start-up (`platform._start`: SQLite
files, the services as processes) on a broker of the test's own, on free ports. Its households, their visits and
civil affairs' 低保 arrive over HTTP; June 2020 of the report's programmes is paid end to end, closed, and seen by
subsidies' lists, and by households as transfer income. The report's projects follow: the year's funds by source,
all spent; the projects by status; the 双提升 plan paid through subsidies and accounted for, its shares counted by
households as asset income; June's payroll of the posts paid. Loading again, as the next `make up` does, changes
nothing.

A broker of its own, not the session's: the session's services read the same topics in the same consumer groups,
and would take half of this platform's events.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.local import demo, platform
from shared.local.demo_projects_stock import GENGDIAN
from shared.local.kafka import LocalKafka, free_port
from shared.local.processes import ServiceProcess
from shared.service_index import SERVICES
from tests.kafka_support import eventually
from tests.support import auth

pytestmark = pytest.mark.e2e

FINANCE = auth("finance_officer")
OFFICE = auth("district_office")
# The month as the demo pays it (shared/local/demo_subsidies.py RUNS), in fen.
PAID = {
    ("dibao", "2020-06"): (3, (2 + 3 + 2) * 25_800),
    ("extreme_poverty_support", "2020-06"): (1, 55_900),
    ("disability_living_subsidy", "2020-06"): (1, 8_000),
    ("disability_nursing_subsidy", "2020-06"): (1, 10_000),
    ("pension_premium_subsidy", "2020"): (4, 4 * 10_000),
    # The projects' orders: the 双提升 plan's shares (half of 1,007,600 yuan, between two households of two) and
    # June's payroll of the three posts the demo's members hold (900 yuan each).
    ("project_income_share", "2020-06"): (2, 50_380_000),
    ("public_welfare_job_subsidy", "2020-06"): (3, 3 * 90_000),
}
# 刘凤英's household (DEMO-0004): 低保 for two, her son's two disability subsidies and his pension premium; his
# June wage of the workshop is wage income.
TRANSFERS_OF_DEMO_0004 = 2 * 25_800 + 8_000 + 10_000 + 10_000
WAGES_OF_DEMO_0004 = 150_000
# The 双提升 plan's share of each household of 耿店村 (王秀英's, 杨建国's): asset income (资产收益).
SHARE_OF_GENGDIAN_HOUSEHOLDS = 25_190_000


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """`poverty up`'s state directory and ports, moved where nothing else is."""
    monkeypatch.setattr(platform, "STATE", tmp_path)
    monkeypatch.setattr(platform, "METRICS_PORTS", {name: free_port() for name in SERVICES})
    for name in SERVICES:
        monkeypatch.setenv(f"{name.upper()}_PORT", str(free_port()))
    (tmp_path / "data").mkdir()
    yield tmp_path


async def get(service: ServiceProcess, path: str, **params: Any) -> Any:
    async with httpx.AsyncClient(base_url=service.base_url, timeout=10) as client:
        response = await client.get(path, params=params, headers=FINANCE)
        assert response.status_code == 200, response.text
        return response.json()


async def test_make_up_pays_a_month_of_the_reports_programmes_end_to_end(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with LocalKafka(data_dir=state / "kafka") as broker:
        processes = [platform._service(name, broker.bootstrap_servers) for name in SERVICES]
        try:
            await asyncio.to_thread(platform._start, processes, broker, True)
            up = {p.name: p for p in processes}
            printed, warned = capsys.readouterr()
            assert "demo data: 10 households registered" in printed, warned
            assert "低保 2020-06: closed, 3 entitled, 1,806.00 yuan, 2 bank batches (1 line refused" in printed
            assert "0 leaks found" in printed
            assert "income received in 2020 (到位项目收益): 4,466,400.00 yuan" in printed
            assert "payroll 2020-06: paid, 3 lines, 2,700.00 yuan" in printed

            await _cycles_closed_with_their_payments(up["subsidies"])
            await _transfer_income_reaches_households(up["households"])
            await _projects_carry_the_reports_figures(up["projects"])
            await _shares_are_asset_income(up["households"])

            again = await asyncio.to_thread(
                demo.load,
                {p.name: p.base_url for p in processes},
                subsidies_database_url=platform.database_url("subsidies"),
            )
            assert again.households == []
            assert all(line.endswith("(loaded earlier)") for line in again.cycles[1:-1]), again.cycles
            assert again.projects[0].startswith("projects of the report: 0 records made"), again.projects
            assert all(line.endswith("(loaded earlier)") for line in again.projects[-2:]), again.projects
            await _cycles_closed_with_their_payments(up["subsidies"])  # not one payment more
            await _projects_carry_the_reports_figures(up["projects"])
        finally:
            for process in processes:
                process.stop()


async def _cycles_closed_with_their_payments(subsidies: ServiceProcess) -> None:
    cycles = (await get(subsidies, "/v1/cycles", status="closed"))["items"]
    assert {(c["programme_code"], c["period"]): (c["entitled_count"], c["total_fen"]) for c in cycles} == PAID
    for (programme, period), (count, total) in PAID.items():
        payments = (await get(subsidies, "/v1/payments", policy_code=programme, period=period))["items"]
        assert (len(payments), sum(p["amount_fen"] for p in payments)) == (count, total), programme
        assert {p["status"] for p in payments} == {"paid"}
    [dibao] = [c for c in cycles if c["programme_code"] == "dibao"]
    first, follow_up = (await get(subsidies, f"/v1/cycles/{dibao['id']}/batches"))["items"]
    assert (first["line_count"], follow_up["line_count"]) == (3, 1)
    refused = (await get(subsidies, f"/v1/batches/{first['id']}/lines", status="failed"))["items"]
    assert [line["bank_reason"] for line in refused] == ["account_closed"]


async def _transfer_income_reaches_households(households: ServiceProcess) -> None:
    async with httpx.AsyncClient(base_url=households.base_url, timeout=10) as client:
        page = (await client.get("/v1/households", params={"area_code": "371523104201"}, headers=OFFICE)).json()
        [liu] = [h for h in page["items"] if h["household_code"] == "DEMO-0004"]

        async def all_counted() -> dict[str, Any] | None:
            income = await client.get(f"/v1/households/{liu['id']}/income", params={"year": 2020}, headers=OFFICE)
            summary: dict[str, Any] = income.json()
            counted = (summary["transfer_income_fen"], summary["wage_income_fen"])
            return summary if counted == (TRANSFERS_OF_DEMO_0004, WAGES_OF_DEMO_0004) else None

        summary = await eventually(all_counted, timeout=60)
    assert isinstance(summary, dict) and summary["transfer_income_fen"] == TRANSFERS_OF_DEMO_0004


async def _projects_carry_the_reports_figures(projects: ServiceProcess) -> None:
    totals = await get(projects, "/v1/funds/totals", year=2020)
    by_source = {s["source"]: (s["allocated_fen"], s["spent_fen"]) for s in totals["sources"] if s["allocated_fen"]}
    assert by_source == {"district": (2_150_000_000, 2_150_000_000), "provincial": (2_082_000_000, 2_082_000_000)}
    assert (totals["total"]["allocated_fen"], totals["total"]["spent_fen"]) == (4_232_000_000, 4_232_000_000)
    listed = (await get(projects, "/v1/projects", limit=500))["items"]
    statuses = Counter((p["project_code"][:2], p["status"]) for p in listed)
    assert statuses == {("CL", "operating"): 83, ("XM", "operating"): 3, ("XM", "under_construction"): 4}
    [plan] = (await get(projects, "/v1/plans", status="accounted"))["items"]
    assert (plan["amount_fen"], plan["set_aside_fen"], plan["paid_fen"]) == (100_760_000, 50_380_000, 50_380_000)
    shares = (await get(projects, f"/v1/plans/{plan['id']}/shares"))["items"]
    assert [(s["amount_fen"], s["status"]) for s in shares] == [(SHARE_OF_GENGDIAN_HOUSEHOLDS, "paid")] * 2
    [payroll] = (await get(projects, "/v1/payrolls", status="paid"))["items"]
    assert (payroll["period"], payroll["line_count"], payroll["paid_fen"]) == ("2020-06", 3, 270_000)


async def _shares_are_asset_income(households: ServiceProcess) -> None:
    async with httpx.AsyncClient(base_url=households.base_url, timeout=10) as client:
        page = (await client.get("/v1/households", params={"area_code": GENGDIAN}, headers=OFFICE)).json()
        gengdian = [h["id"] for h in page["items"] if h["household_code"] in ("DEMO-0001", "DEMO-0006")]
        assert len(gengdian) == 2

        async def both_counted() -> bool:
            params = {"year": 2020}
            found = [
                (await client.get(f"/v1/households/{h}/income", params=params, headers=OFFICE)).json() for h in gengdian
            ]
            return [income["asset_income_fen"] for income in found] == [SHARE_OF_GENGDIAN_HOUSEHOLDS] * 2

        assert await eventually(both_counted, timeout=60)

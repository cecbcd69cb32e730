"""`make up`'s demo data, loaded as `poverty up` loads it: the platform's own start-up (`platform._start`: SQLite
files, the services as processes) on a broker of the test's own, on free ports. Its households, their visits and
civil affairs' 低保 arrive over HTTP; June 2020 of the report's programmes is paid end to end, closed, and seen by
subsidies' lists, and by households as transfer income. Loading again, as the next `make up` does, changes nothing.

A broker of its own, not the session's: the session's services read the same topics in the same consumer groups,
and would take half of this platform's events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.local import demo, platform
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
}
# 刘凤英's household (DEMO-0004): 低保 for two, her son's two disability subsidies and his pension premium.
TRANSFERS_OF_DEMO_0004 = 2 * 25_800 + 8_000 + 10_000 + 10_000


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

            await _cycles_closed_with_their_payments(up["subsidies"])
            await _transfer_income_reaches_households(up["households"])

            again = await asyncio.to_thread(
                demo.load,
                {p.name: p.base_url for p in processes},
                subsidies_database_url=platform.database_url("subsidies"),
            )
            assert again.households == []
            assert all(line.endswith("(loaded earlier)") for line in again.cycles[1:-1]), again.cycles
            await _cycles_closed_with_their_payments(up["subsidies"])  # not one payment more
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
            return summary if summary["transfer_income_fen"] == TRANSFERS_OF_DEMO_0004 else None

        summary = await eventually(all_counted, timeout=60)
    assert summary is not None and summary["transfer_income_fen"] == TRANSFERS_OF_DEMO_0004

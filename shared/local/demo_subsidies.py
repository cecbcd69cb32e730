"""June 2020 of the report's subsidy programmes, paid end to end in a running platform (the demo `poverty up` loads).

A cycle cannot be run through today on a live service: its public notice (公示) lasts `SUBSIDIES_NOTICE_DAYS` from
today at the earliest, and the list is submitted the day after the notice ends. The demo stands for June 2020, the
report's half-year, so it replays that month with the month's own dates: the facts come the live way (households'
events, awaited through the running service's eligibility answers), then each cycle's stages run through a subsidies
app in this process, on the running service's own database, with the request clock (`request_time`) moved through
the month as bench/subsidies_cycle.py moves it. Kafka is off in here: what the stages publish waits in the outbox
and the running service's relay sends it, so households counts the payments as transfer income and audit logs the
bank-file exports as if the month had been run live.

Each programme's cycle: the year's funds (资金下达), the list computed and posted on 06-01 for the notice days,
submitted the day after the notice, approved the next day by another officer, a batch and its bank file (GBK), the
bank's result; for 低保 the bank refuses 王秀英's line (account closed), the village brings her new account and a
follow-up batch pays it; then paid and closed, and a leakage check of each period. A cycle found closed is left as
it is, and one found part-way is taken on from where it stands.
"""

from __future__ import annotations

import asyncio
import csv
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from shared.api.clock import request_time
from shared.auth import issue_token
from shared.settings import DEV_JWT_SECRET

if TYPE_CHECKING:
    from fastapi import FastAPI

FACTS_TIMEOUT_S = 120.0
PATIENCE_S = 90.0  # how long a request keeps being sent again while the service answers 503 (busy, not broken)
OPENS = date(2020, 6, 1)  # funds, the cycles opened, their lists computed and posted
CLOSES = date(2020, 6, 30)  # the cycles closed and the month's payments checked for leaks
ACCOUNTS_RECORDED = date(2020, 5, 28)  # each household's 一卡通 on record before the month
BANK_DAYS = 3  # from a bank file to the bank's result


def _headers(role: str, subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(DEV_JWT_SECRET, subject, [role])}"}


OFFICE = _headers("district_office", "demo-office-zhang")
PREPARER = _headers("finance_officer", "demo-cashier-li")
APPROVER = _headers("finance_officer", "demo-section-chief-wang")


class DemoError(RuntimeError):
    """The demo month could not be paid (the facts never arrived, or a stage was refused)."""


@dataclass(frozen=True)
class Run:
    """One programme's cycle of the month: its period, the year's allocation, the demo households it pays (the
    facts awaited before the list is computed) and the one whose account the bank refuses, if any."""

    programme: str
    period: str
    name: str
    fund_yuan: int
    entitled: tuple[str, ...]
    refused: str | None = None


RUNS = (
    Run("dibao", "2020-06", "低保", 1_440_000, ("DEMO-0001", "DEMO-0002", "DEMO-0004"), refused="DEMO-0001"),
    Run("extreme_poverty_support", "2020-06", "特困供养", 400_000, ("DEMO-0003",)),
    Run("disability_living_subsidy", "2020-06", "残疾人生活补贴", 50_000, ("DEMO-0004",)),
    Run("disability_nursing_subsidy", "2020-06", "重度残疾人护理补贴", 50_000, ("DEMO-0004",)),
    Run(
        "pension_premium_subsidy", "2020", "养老保险代缴", 214_400, ("DEMO-0002", "DEMO-0004", "DEMO-0006", "DEMO-0008")
    ),
)


def replay_june_2020(subsidies_url: str, database_url: str, households: dict[str, dict[str, Any]]) -> list[str]:
    """Pay June 2020 of `RUNS` for the demo households (by code, as households reads them); the summary's lines."""
    return asyncio.run(_replay(subsidies_url, database_url, households))


@asynccontextmanager
async def in_process_subsidies(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, int]]:
    """A subsidies app in this process on the running service's database (its payee keys and notice days from the
    same environment), Kafka off: what it publishes waits in the outbox for the running service's relay. Yields the
    app, a client of it, and the notice days."""
    from services.subsidies.app import create_app
    from services.subsidies.settings import SubsidiesSettings

    settings = SubsidiesSettings(
        database_url=database_url,
        kafka_enabled=False,
        metrics_port=0,
        coverage_check_interval_seconds=0,
        log_level="WARNING",
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://subsidies.in-process", timeout=60
        ) as client,
    ):
        yield app, client, settings.notice_days


async def _replay(subsidies_url: str, database_url: str, households: dict[str, dict[str, Any]]) -> list[str]:
    async with in_process_subsidies(database_url) as (app, client, notice_days):
        month = Month(app, client, notice_days, households)
        cycles = {run: await month.cycle(run) for run in RUNS}
        pending = [run for run, cycle in cycles.items() if cycle is None or cycle["status"] != "closed"]
        if pending:
            async with httpx.AsyncClient(base_url=subsidies_url, timeout=10) as live:
                await _await_facts(live, households, pending)
            await month.accounts()
        lines = [await month.pay(run, cycles[run]) for run in RUNS]
        lines.append(await month.leakage_checks())
    head = (
        f"June 2020 of the report's programmes, paid (public notice {OPENS:%m-%d}..{month.notice_ends:%m-%d}, "
        f"approved {month.approved:%m-%d}, closed {month.closes:%m-%d}):"
    )
    return [head, *lines]


async def _await_facts(live: httpx.AsyncClient, households: dict[str, dict[str, Any]], runs: list[Run]) -> None:
    """Until the running service knows every demo member and finds each household entitled to its programmes."""
    wanted = [(code, "pension_premium_subsidy", "2020", len(h["members"])) for code, h in households.items()]
    wanted += [(code, run.programme, run.period, 0) for run in runs for code in run.entitled if code in households]
    deadline = time.monotonic() + FACTS_TIMEOUT_S
    while True:
        missing = [w for w in wanted if not await _known(live, households[w[0]]["id"], *w[1:])]
        if not missing:
            return
        if time.monotonic() > deadline:
            raise DemoError(f"subsidies did not learn the demo households' facts in {FACTS_TIMEOUT_S:.0f} s: {missing}")
        wanted = missing
        await asyncio.sleep(0.5)


async def _known(live: httpx.AsyncClient, household_id: str, programme: str, period: str, members: int) -> bool:
    """`members` of the household known to subsidies (a member programme lists each), or with none asked for, the
    household (or a member) entitled to the programme for the period."""
    params = {"programme": programme, "period": period}
    response = await live.get(f"/v1/households/{household_id}/eligibility", params=params, headers=OFFICE)
    if response.status_code in (404, 503):
        return False  # HouseholdRegistered not consumed yet, or the database busy with the consumer writing
    holders = response.raise_for_status().json()["holders"]
    return len(holders) >= members if members else any(h["entitled"] for h in holders)


class Month:
    """The in-process subsidies app, its request clock, and the month's dates."""

    def __init__(self, app: Any, client: httpx.AsyncClient, notice_days: int, households: dict[str, Any]) -> None:
        self.app, self.client, self.households = app, client, households
        self.notice_ends = OPENS + timedelta(days=notice_days - 1)
        self.submitted = self.notice_ends + timedelta(days=1)  # the day after the notice, at the earliest
        self.approved = self.submitted + timedelta(days=1)  # and its first batch built and exported
        self.settled = self.approved + timedelta(days=BANK_DAYS)  # the bank's result; a refused account replaced
        self.followed_up = self.settled + timedelta(days=1)  # a follow-up batch built and exported
        self.closes = max(CLOSES, self.followed_up + timedelta(days=BANK_DAYS + 1))

    def at(self, day: date, hour: int = 10) -> None:
        """Requests from now on act at `hour` o'clock in the district (UTC+8) on `day`."""
        moment = datetime(day.year, day.month, day.day, hour - 8, tzinfo=UTC)
        self.app.dependency_overrides[request_time] = lambda: moment

    async def call(self, method: str, path: str, headers: dict[str, str], **kwargs: Any) -> httpx.Response:
        """The response, or DemoError; a 503 (the running service writing the SQLite file at the same moment, the
        request refused whole; PostgreSQL busy or out of connections) is sent again for up to `PATIENCE_S`, as
        demo.Patient does."""
        deadline = time.monotonic() + PATIENCE_S
        attempt = 0
        while True:
            attempt += 1
            response = await self.client.request(method, path, headers=headers, **kwargs)
            if response.status_code != 503 or time.monotonic() > deadline:
                break
            await asyncio.sleep(min(0.2 * attempt, 2.0))
        if response.status_code not in (200, 201):
            raise DemoError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response

    async def json(self, method: str, path: str, headers: dict[str, str], **kwargs: Any) -> Any:
        return (await self.call(method, path, headers, **kwargs)).json()

    async def cycle(self, run: Run) -> dict[str, Any] | None:
        params = {"programme_code": run.programme, "period": run.period}
        items = (await self.json("GET", "/v1/cycles", PREPARER, params=params))["items"]
        return items[0] if items else None

    async def accounts(self) -> None:
        """Each demo household's account (一卡通, in the head's name) recorded before the month, unless it has one."""
        self.at(ACCOUNTS_RECORDED)
        for code in self.households:
            path = f"/v1/households/{self.households[code]['id']}/payees"
            if not (await self.json("GET", path, PREPARER, params={"in_use": "true"}))["items"]:
                await self.account(code, "6217")

    async def account(self, code: str, bin_: str) -> None:
        household = self.households[code]
        head = next(m for m in household["members"] if m["relationship_to_head"] == "head")
        body = {
            "bank_code": "RCC3715",
            "account_no": f"{bin_}0315{int(code.removeprefix('DEMO-')):011d}",
            "holder_name": household["head_name"],
            "holder_member_id": head["id"],
        }
        await self.call("POST", f"/v1/households/{household['id']}/payees", PREPARER, json=body)

    async def pay(self, run: Run, cycle: dict[str, Any] | None) -> str:
        """Take the run's cycle from wherever it stands to closed; its line of the summary."""
        earlier = cycle is not None and cycle["status"] == "closed"
        if cycle is None:
            self.at(OPENS, 9)
            position = await self.json("GET", f"/v1/programmes/{run.programme}/funds", OFFICE, params={"year": 2020})
            if position["allocated_fen"] == 0:
                fund = {"year": 2020, "amount_fen": run.fund_yuan * 100, "source": f"2020年{run.name}资金下达 (演示)"}
                await self.call("POST", f"/v1/programmes/{run.programme}/funds", OFFICE, json=fund)
            body = {"programme_code": run.programme, "period": run.period}
            try:
                cycle = await self.json("POST", "/v1/cycles", PREPARER, json=body)
            except DemoError:  # on SQLite an open refused late (a 503) keeps its draft: its retry is a 409
                if (cycle := await self.cycle(run)) is None:
                    raise
        path = f"/v1/cycles/{cycle['id']}"
        if cycle["status"] in ("draft", "computed"):
            self.at(OPENS)
            await self.call("POST", f"{path}/compute", PREPARER)
            notice = {"starts_on": OPENS.isoformat(), "ends_on": self.notice_ends.isoformat()}
            cycle = await self.json("POST", f"{path}/notice", PREPARER, json=notice)
        if cycle["status"] == "on_notice":
            self.at(self.submitted)
            cycle = await self.json("POST", f"{path}/submit", PREPARER)
        if cycle["status"] == "submitted":
            self.at(self.approved)
            cycle = await self.json("POST", f"{path}/approve", APPROVER)
        if cycle["status"] == "approved":
            await self.batches(run, cycle)
        cycle = await self.json("GET", path, PREPARER)
        if cycle["status"] == "paid":
            self.at(self.closes, 17)
            cycle = await self.json("POST", f"{path}/close", PREPARER)
        return await self.told(run, cycle, earlier=earlier)

    async def batches(self, run: Run, cycle: dict[str, Any]) -> None:
        """Build, export and settle the cycle's batches until every listed entitlement is paid."""
        path = f"/v1/cycles/{cycle['id']}"
        for _ in range(3):
            batches = (await self.json("GET", f"{path}/batches", PREPARER))["items"]
            for batch in batches:
                if batch["status"] != "reconciled":
                    await self.bank(run, batch)
            if (await self.json("GET", path, PREPARER))["status"] != "approved":
                return
            # The village brings a new account for each line the bank refused; a follow-up batch pays them.
            self.at(self.settled, 16)
            awaiting = (await self.json("GET", f"{path}/awaiting-batch", PREPARER, params={"limit": 100}))["items"]
            codes = {h["id"]: code for code, h in self.households.items()}
            for household_id in {a["household_id"] for a in awaiting if a["reason"] == "account_not_corrected"}:
                await self.account(codes[household_id], "6228")
            self.at(self.followed_up if batches else self.approved, 11)
            await self.call("POST", f"{path}/batches", PREPARER)
        raise DemoError(f"{run.programme} {run.period}: still not paid after three batches")

    async def bank(self, run: Run, batch: dict[str, Any]) -> None:
        """Export a batch's bank file and import the bank's answer: every line paid but those of the run's refused
        household in its first batch."""
        first = batch["sequence"] == 1
        self.at(self.approved if first else self.followed_up, 11)
        request = {"encoding": "gbk", "reason": f"{run.period} {run.name}代发, 报送农商行"}
        exported = await self.call("POST", f"/v1/batches/{batch['id']}/bank-file", PREPARER, json=request)
        refused_id = self.households[run.refused]["id"] if first and run.refused in self.households else None
        lines = (await self.json("GET", f"/v1/batches/{batch['id']}/lines", PREPARER, params={"limit": 100}))["items"]
        failing = {line["line_no"] for line in lines if line["household_id"] == refused_id}
        settled = self.settled if first else self.followed_up + timedelta(days=BANK_DAYS)
        self.at(settled, 15)
        await self.call(
            "POST",
            f"/v1/batches/{batch['id']}/bank-results",
            {**PREPARER, "Content-Type": "text/csv"},
            params={"encoding": "gbk"},
            content=result_file(exported.content.decode("gbk"), failing, settled).encode("gbk"),
        )

    async def told(self, run: Run, cycle: dict[str, Any], *, earlier: bool) -> str:
        """The cycle's line of the summary: where it stands, what it paid, and the lines the bank refused."""
        path = f"/v1/cycles/{cycle['id']}"
        batches = (await self.json("GET", f"{path}/batches", PREPARER))["items"]
        refused = 0
        for batch in batches:
            lines = f"/v1/batches/{batch['id']}/lines"
            refused += len((await self.json("GET", lines, PREPARER, params={"status": "failed"}))["items"])
        money = f"{cycle['total_fen'] // 100:,}.{cycle['total_fen'] % 100:02d}"
        told = f"  {run.name} {run.period}: {cycle['status']}, {cycle['entitled_count']} entitled, {money} yuan"
        told += f", {len(batches)} bank batch{'es' if len(batches) > 1 else ''}"
        if refused:
            told += f" ({refused} line refused by the bank: account closed, paid to a new account)"
        return told + (" (loaded earlier)" if earlier else "")

    async def leakage_checks(self) -> str:
        """A leakage check of each period paid (资金安全核查), unless the demo ran one before."""
        judged = leaks = 0
        self.at(self.closes, 18)
        periods = list(dict.fromkeys(run.period for run in RUNS))
        for period in periods:
            checks = (await self.json("GET", "/v1/leakage-checks", OFFICE, params={"period": period}))["items"]
            ours = [c for c in checks if c["checked_by"] == "demo-office-zhang"]
            check = ours[0] if ours else await self.json("POST", "/v1/leakage-checks", OFFICE, json={"period": period})
            judged, leaks = judged + check["payment_count"], leaks + check["leak_count"]
        return f"  leakage checks of {', '.join(periods)}: {judged} payments judged, {leaks} leaks found"


def result_file(exported: str, failing: set[int], settled: date) -> str:
    """The bank's answer (回盘文件) to an exported bank file: the lines in `failing` refused (account closed), the
    rest paid on `settled`."""
    out = ["line_no,reference,amount_yuan,status,reason,bank_reference,settled_on"]
    for line_no, _batch, _account, _name, amount, _purpose, reference in list(csv.reader(exported.splitlines()))[1:]:
        if int(line_no) in failing:
            out.append(f"{line_no},{reference},{amount},failed,account_closed,,{settled}")
        else:
            out.append(f"{line_no},{reference},{amount},paid,,RCC{settled:%Y%m%d}{reference[:8]},{settled}")
    return "\r\n".join(out) + "\r\n"

"""The demo district's programmes of the half year, paid through subsidies: 低保 and 特困供养 for June 2020, 临时救助
for the households under monitoring on 1 June, 雨露计划 and 教育资助 for the spring term, 城乡居民养老保险代缴 for
2020; then a leakage check of the periods, and a coverage check of 重度残疾人护理补贴 in one village, whose gaps
(entitled, not paid: the demo pays no 两项补贴) audit takes as findings.

A cycle's notice cannot end before today on a live service, so each cycle's stages run through a subsidies app in
this process on the running service's database with the request clock moved through June 2020: exactly
`demo_subsidies`' mechanism (its `Month`, the same stages, bank files and results), with the district's households
and programmes. The facts come the live way first: the running service must know every member and find each
household entitled to its programmes before a list is computed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from datetime import date
from typing import Any

import httpx

from shared.local.demo_district.calls import Calls, each
from shared.local.demo_district.population import Home, Population
from shared.local.demo_subsidies import ACCOUNTS_RECORDED, OFFICE, PREPARER, DemoError, Month, Run, in_process_subsidies

FACTS_TIMEOUT_S = 600.0
FACTS_PER_ASK = 200
FACTS_POLL_S = 0.2
CHECKED_VILLAGE = "371523101201"  # 耿店村: the coverage check's area
MEMBER_PROGRAMMES = ("rain_and_dew_education_aid", "education_aid", "pension_premium_subsidy")
FEN_PER_HOLDER = {  # the catalogue's amounts (a household's: per living member)
    "dibao": 25_800,
    "extreme_poverty_support": 55_900,
    "temporary_assistance": 100_000,
    "rain_and_dew_education_aid": 150_000,
    "education_aid": 50_000,
    "pension_premium_subsidy": 10_000,
}


def runs(population: Population) -> list[Run]:
    """Each programme's cycle, its year's funds exactly what it pays, and the households it pays."""
    homes = population.homes

    def run(programme: str, period: str, name: str, paid: list[tuple[Home, int]]) -> Run:
        fund = sum(holders for _, holders in paid) * FEN_PER_HOLDER[programme] // 100
        return Run(programme, period, name, fund, tuple(h.code for h, n in paid if n))

    def holders(home: Home, stages: tuple[str, ...]) -> int:
        return sum(p.enrolment == "enrolled" and p.stage in stages for p in home.members)

    def allowance(kind: str) -> list[tuple[Home, int]]:
        return [(h, len(h.members)) for h in homes if h.allowance and h.allowance[0] == kind]

    schools = ("preschool", "primary", "junior_secondary", "senior_secondary")
    return [
        run("dibao", "2020-06", "低保", allowance("dibao")),
        run("extreme_poverty_support", "2020-06", "特困供养", allowance("extreme_poverty")),
        run("temporary_assistance", "2020-06", "临时救助", [(h, 1) for h in homes if h.monitored]),
        run("rain_and_dew_education_aid", "2020-S1", "雨露计划", [(h, holders(h, ("vocational",))) for h in homes]),
        run("education_aid", "2020-S1", "教育资助", [(h, holders(h, schools)) for h in homes]),
        run(
            "pension_premium_subsidy",
            "2020",
            "养老保险代缴",
            [(h, sum(p.working_age for p in h.members)) for h in homes],
        ),
    ]


async def pay(subsidies_url: str, database_url: str, population: Population, households: dict[str, Any]) -> list[str]:
    """Pay the half year's cycles (a cycle found closed is left as it is); the summary's lines."""
    cycles = runs(population)
    async with in_process_subsidies(database_url) as (app, client, notice_days):
        month = Month(app, client, notice_days, households)
        found = {run: await month.cycle(run) for run in cycles}
        if any(cycle is None or cycle["status"] != "closed" for cycle in found.values()):
            async with httpx.AsyncClient(base_url=subsidies_url, timeout=60) as running:
                live = Calls(running)
                await _await_facts(live, households, population, cycles)
                await _accounts(month, live, households)
        lines = [await month.pay(run, found[run]) for run in cycles]
        lines.append(await month.leakage_checks())
        lines.append(await _coverage_check(month))
    return ["the half year's programmes, paid:", *lines]


async def _await_facts(live: Calls, households: dict[str, Any], population: Population, cycles: list[Run]) -> None:
    """Until subsidies knows what each run's households are paid for: every member of a household a member's
    programme pays (the members' ages and schooling come with them), each household programme's households
    entitled. One question a household where one will do: subsidies explains each answer rule by rule."""
    members = {code for run in cycles if run.programme in MEMBER_PROGRAMMES for code in run.entitled}
    homes = {h.code: h for h in population.homes}
    wanted = [(code, "pension_premium_subsidy", "2020", len(homes[code].members)) for code in sorted(members)]
    wanted += [
        (code, run.programme, run.period, 0)
        for run in cycles
        if run.programme not in MEMBER_PROGRAMMES
        for code in run.entitled
    ]

    def known(w: tuple[str, str, str, int]) -> Awaitable[bool]:
        return _known(live, households[w[0]]["id"], *w[1:])

    deadline = time.monotonic() + FACTS_TIMEOUT_S
    for start in range(0, len(wanted), FACTS_PER_ASK):
        # A part at a time, asked again until known: asking the whole district over again each time would keep the
        # service answering rather than learning.
        asked = wanted[start : start + FACTS_PER_ASK]
        while asked := [w for w, yes in zip(asked, await each(asked, known), strict=True) if not yes]:
            if time.monotonic() > deadline:
                raise DemoError(f"subsidies did not learn the district's facts, among them: {asked[:5]}")
            await asyncio.sleep(FACTS_POLL_S)


async def _known(live: Calls, household_id: str, programme: str, period: str, members: int) -> bool:
    path = f"/v1/households/{household_id}/eligibility"
    answer = await live.send("GET", path, OFFICE, ok=(200, 404), params={"programme": programme, "period": period})
    holders = answer.get("holders") if answer else None
    if holders is None:
        return False  # HouseholdRegistered not consumed yet
    return len(holders) >= members if members else any(h["entitled"] for h in holders)


async def _accounts(month: Month, live: Calls, households: dict[str, Any]) -> None:
    """Each household's account (一卡通, in the head's name) recorded before the month, unless it has one (asked of
    the running service: a read needs no moved clock, and it answers beside this process's app)."""
    month.at(ACCOUNTS_RECORDED)
    gate = asyncio.Semaphore(4)  # the in-process app's pool beside the running service's

    async def account(code: str) -> None:
        path = f"/v1/households/{households[code]['id']}/payees"
        if not (await live.get(path, PREPARER, in_use="true"))["items"]:
            async with gate:
                await month.account(code, "6217")

    await each(households, account)


async def _coverage_check(month: Month) -> str:
    """重度残疾人护理补贴 of June in 耿店村, checked on 30 June (the demo's one check; its gaps go to audit)."""
    body = {"policy_code": "disability_nursing_subsidy", "period": "2020-06", "area_code": CHECKED_VILLAGE}
    month.at(date(2020, 6, 30), 16)
    checks = await month.json("GET", "/v1/coverage-checks", OFFICE, params={"policy_code": body["policy_code"]})
    ours = [c for c in checks["items"] if c.get("area_code") == CHECKED_VILLAGE]
    check = ours[0] if ours else await month.json("POST", "/v1/coverage-checks", OFFICE, json=body)
    gaps = check["gap_count"]
    return f"  coverage check of 重度残疾人护理补贴 2020-06 in 耿店村: {gaps} gaps (the demo pays no 两项补贴)"

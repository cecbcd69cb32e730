"""The demo district's industrial projects, funds, income, public-welfare posts and 双提升 plan.

The projects themselves are the small demo's (`demo_projects_load`: the year's funds by source, all spent, the 7 new
projects and 83 standing ones with their assets, income, insurance and inspections, everything dated in the half
year), loaded through the projects API the same way. The 233 posts (公益岗位) are held from 1 March 2020 by an able
member of as many of the district's working households, each in the holder's village. June's payroll of the posts
and the 双提升 plan of 耿店村's greenhouse income are approved in June 2020: an approval is recorded at the moment it
is made, so they are prepared and approved through a projects app in this process with the request clock moved
(`clock.in_process`: demo_subsidies' mechanism), on the running service's database. Subsidies then pays both in July
as it pays the small demo's (`demo_projects_pay`).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import httpx

from shared.local import demo_projects_money as money
from shared.local.demo_district.calls import OFFICE, signed
from shared.local.demo_district.clock import Moved, in_process
from shared.local.demo_district.population import Home, Person, Population
from shared.local.demo_projects import yuan
from shared.local.demo_projects_jobs import DUTIES, HELD_SINCE, Post
from shared.local.demo_projects_load import Api, _project, await_roll, fund_lines
from shared.local.demo_projects_pay import Order, pay
from shared.local.demo_projects_plans import member
from shared.local.demo_projects_stock import GENGDIAN, GREENHOUSES, PROJECTS, village_name
from shared.local.demo_subsidies import Run

FINANCE = signed("finance_officer", "demo-cashier-li")
CHIEF = signed("finance_officer", "demo-section-chief-wang")
CADRE = signed("village_cadre", "demo-cadre-gengdian", GENGDIAN)
TOWNSHIP = signed("township_office", "demo-township-jiazhai", GENGDIAN[:9])
PERIOD = "2020-06"
SIDE_BY_SIDE = 8  # projects (or posts) loaded at once


async def stock(url: str) -> dict[str, Any]:
    """The small demo's projects with their funds, assets, income and inspections, by code. Nothing of them reaches
    households or subsidies (only the payroll and the plan do), so `build` loads them while subsidies pays."""
    return await asyncio.to_thread(_stock, url)


async def load(
    urls: dict[str, str],
    databases: dict[str, str],
    population: Population,
    households: dict[str, Any],
    loaded: dict[str, Any],
) -> list[str]:
    """Load the posts and their holders beside the projects (`loaded`, by code), approve June's payroll and the
    plan, and pay both."""
    holders = {home.code for home, _ in population.post_holders}
    paid_to = {c: h for c, h in households.items() if c in holders or h["area_code"] == GENGDIAN}
    await asyncio.to_thread(_held, urls["projects"], population, households, paid_to)
    async with in_process("projects", databases["projects"]) as app:
        payroll = await _payroll(app)
        plan = await _plan(app, loaded[GREENHOUSES.code]["id"])
    orders = [
        Order(Run("project_income_share", plan["period"], "双提升收益分配", 0, ()), plan["id"]),
        Order(Run("public_welfare_job_subsidy", payroll["period"], "公益岗位", 0, ()), payroll["id"]),
    ]
    paid = await asyncio.to_thread(pay, databases["subsidies"], paid_to, orders)
    return [
        f"projects: {len(loaded)} (the small demo's), with their funds, assets, income and inspections",
        f"  public-welfare posts: {len(population.post_holders)} held; payroll {PERIOD}: {payroll['status']}, "
        f"{payroll['line_count']} lines, {yuan(payroll['total_fen'])} yuan",
        f"  双提升 plan of {GREENHOUSES.name}: {plan['status']}, {yuan(plan['set_aside_fen'])} yuan set aside",
        *paid,
    ]


def _stock(url: str) -> dict[str, Any]:
    """`SIDE_BY_SIDE` projects at a time: each project's life is taken in order, none waits on another's."""
    with httpx.Client(base_url=url, timeout=60) as client, ThreadPoolExecutor(SIDE_BY_SIDE) as pool:
        api = Api(client)
        lines = fund_lines(api)
        registered = {p["project_code"]: p for p in api.items("/v1/projects", OFFICE)}
        made = pool.map(lambda spec: _project(api, spec, registered.get(spec.code), lines), PROJECTS)
        return {spec.code: project for spec, project in zip(PROJECTS, made, strict=True)}


def _held(url: str, population: Population, households: dict[str, Any], rolled: dict[str, Any]) -> None:
    """Each post in its holder's village, held from 1 March 2020 (looked up by title before it is made), once
    projects has the holders on its roll; `SIDE_BY_SIDE` posts at a time."""
    with httpx.Client(base_url=url, timeout=60) as client, ThreadPoolExecutor(SIDE_BY_SIDE) as pool:
        api = Api(client)
        await_roll(api, rolled)
        found = {p["title"]: p for p in api.items("/v1/posts", OFFICE)}
        duties = list(DUTIES)

        def hold(n: int, home: Home, person: Person) -> None:
            duty = duties[n % len(duties)]
            post = Post(f"{village_name(home.area_code)}{DUTIES[duty]} D{n + 1:03d}号", duty, home.area_code)
            current = found.get(post.title) or api.create("/v1/posts", post.body(), OFFICE, key=f"district-post-{n}")
            if current["holder"] is None:
                household = households[home.code]
                body = {
                    "household_id": household["id"],
                    "member_id": member(household, person.name)["id"],
                    "started_on": HELD_SINCE.isoformat(),
                }
                api.create(f"/v1/posts/{current['id']}/holder", body, OFFICE, key=f"district-holder-{n}")

        list(pool.map(lambda held: hold(held[0], *held[1]), enumerate(population.post_holders)))


async def _payroll(app: Moved) -> dict[str, Any]:
    """June's payroll, prepared on the 29th by finance and approved on the 30th by another officer."""
    months = {p["period"]: p for p in await app.items("/v1/payrolls", OFFICE)}
    app.at(date(2020, 6, 29))
    found = months.get(PERIOD) or await app.send(
        "POST", "/v1/payrolls", FINANCE, json={"period": PERIOD}, key="district-payroll"
    )
    if found["status"] == "prepared":
        app.at(date(2020, 6, 30))
        found = await app.send("POST", f"/v1/payrolls/{found['id']}/approval", CHIEF)
    payroll: dict[str, Any] = found
    return payroll


async def _plan(app: Moved, project_id: str) -> dict[str, Any]:
    """耿店村's income shared (双提升): prepared by the village and reviewed by the township on the 29th, approved by
    finance on the 30th."""
    live = [p for p in await app.items("/v1/plans", OFFICE, project_id=project_id) if p["status"] != "rejected"]
    if live:
        found = live[0]
    else:
        [income] = await app.items(f"/v1/projects/{project_id}/income", OFFICE)
        app.at(date(2020, 6, 29), 9)
        found = await app.send("POST", "/v1/plans", CADRE, json=money.plan(income["id"]), key="district-plan")
    path = f"/v1/plans/{found['id']}"
    if found["status"] == "prepared":
        app.at(date(2020, 6, 29), 15)
        found = await app.send(
            "POST", f"{path}/review", TOWNSHIP, json={"approve": True, "note": "镇审核: 名单与人口核对无误"}
        )
    if found["status"] == "reviewed":
        app.at(date(2020, 6, 30), 11)
        found = await app.send("POST", f"{path}/approval", CHIEF)
    plan: dict[str, Any] = found
    return plan

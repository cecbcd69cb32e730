"""The industrial projects of the district's half-year report (first half of 2020, 茌平区) loaded into a running
platform as demo data: what `poverty up` loads after the subsidies month, and `poverty demo-data --projects`.

Through the projects API: the year's funds by source, all spent (区级专项扶贫资金 2,150万, 上级资金 2,082万); 7 new
projects (3 accepted and operating, 4 under construction) and 83 standing ones operating, each with its asset,
insurance, inspection and income (到位项目收益 446.64万 in all); the 同心就业工场; 233 public-welfare posts and June's
payroll; the 双提升 plan of 耿店村's income. With subsidies' database, the plan and the payroll are paid through
subsidies (`demo_projects_pay`) and the plan accounted for. The figures are `demo_projects_money`'s,
`demo_projects_stock`'s and `demo_projects_jobs`'; loading again changes nothing.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import httpx

from shared.local import demo_projects_jobs as jobs
from shared.local import demo_projects_plans as plans
from shared.local import demo_projects_stock as stock
from shared.local.demo_projects_load import OFFICE, Api, await_roll, fund_lines, projects
from shared.local.demo_projects_pay import Order, pay
from shared.local.demo_subsidies import DemoError, Run

PAID_TIMEOUT_S = 120.0


def load(
    projects_url: str, households: dict[str, dict[str, Any]], *, subsidies_database_url: str | None = None
) -> list[str]:
    """Load the report's projects for the demo households (by code, as households reads them); the summary's
    lines. Without subsidies' database the plan and the payroll stay approved, unpaid."""
    with httpx.Client(base_url=projects_url, timeout=30) as client:
        api = Api(client)
        await_roll(api, households)
        loaded = projects(api, fund_lines(api))
        wages_fen = plans.workshops(api, households, loaded)
        posts = plans.posts(api, households)
        payroll, plan = plans.payroll(api), plans.plan(api, loaded)
        paid = ["  the plan and the payroll not paid: no subsidies database given"]
        if subsidies_database_url is not None:
            paid = pay(subsidies_database_url, households, _orders(plan, payroll))
            plan = plans.account(api, _paid(api, f"/v1/plans/{plan['id']}"))
            payroll = _paid(api, f"/v1/payrolls/{payroll['id']}")
        return [
            f"projects of the report: {api.created} records made or moved (0 means loaded earlier)",
            *_stock(api, loaded),
            _plan(plan),
            *_jobs(posts, payroll, wages_fen),
            *paid,
        ]


def _orders(plan: dict[str, Any], payroll: dict[str, Any]) -> list[Order]:
    return [
        Order(Run("project_income_share", plan["period"], "双提升收益分配", 0, ()), plan["id"]),
        Order(Run("public_welfare_job_subsidy", payroll["period"], "公益岗位", 0, ()), payroll["id"]),
    ]


def _paid(api: Api, path: str) -> dict[str, Any]:
    """The plan or payroll once projects heard from subsidies that every share or line is paid."""
    deadline = time.monotonic() + PAID_TIMEOUT_S
    while (found := api.get(path, OFFICE))["status"] not in ("paid", "accounted"):
        if time.monotonic() > deadline:
            raise DemoError(f"{path} not paid {PAID_TIMEOUT_S:.0f} s after subsidies paid it: {found['status']}")
        time.sleep(0.5)
    return found


def yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


def _stock(api: Api, loaded: dict[str, dict[str, Any]]) -> list[str]:
    totals = api.get("/v1/funds/totals", OFFICE, year=2020)
    spent = [f"{s['source']} {yuan(s['spent_fen'])} of {yuan(s['allocated_fen'])}" for s in totals["sources"]]
    statuses = Counter(p["status"] for p in api.items("/v1/projects", OFFICE) if p["project_code"] in loaded)
    earning = [p for p in loaded.values() if p["income_fen"]]
    return [
        f"  funds 2020 spent by source (yuan): {', '.join(s for s in spent if not s.endswith(' 0.00'))}; in all "
        f"{yuan(totals['total']['spent_fen'])} of {yuan(totals['total']['allocated_fen'])}",
        f"  projects: {', '.join(f'{n} {status}' for status, n in sorted(statuses.items()))} "
        f"({len(stock.NEW_PROJECTS)} new of 2020, {len(stock.STANDING)} standing)",
        f"  income received in 2020 (到位项目收益): {yuan(sum(p['income_fen'] for p in earning))} yuan "
        f"from {len(earning)} assets",
    ]


def _plan(plan: dict[str, Any]) -> str:
    return (
        f"  双提升 plan of {stock.GREENHOUSES.name} ({plan['period']}): {plan['status']}, {yuan(plan['amount_fen'])} "
        f"yuan: {yuan(plan['set_aside_fen'])} set aside, {yuan(plan['shared_fen'])} shared by "
        f"{plan['household_count']} demo households"
    )


def _jobs(posts: list[dict[str, Any]], payroll: dict[str, Any], wages_fen: int) -> list[str]:
    held = sum(p["holder"] is not None for p in posts)
    monthly = sum(p["monthly_allowance_fen"] for p in posts)
    return [
        f"  public-welfare posts: {len(posts)}, {yuan(monthly)} yuan a month; {held} held, by demo households' "
        "members only (the rest vacant: their holders' households are not in the demo)",
        f"  payroll {payroll['period']}: {payroll['status']}, {payroll['line_count']} lines, "
        f"{yuan(payroll['total_fen'])} yuan",
        f"  {jobs.WORKSHOP} and {len(jobs.WORKSHOPS) - 1} branches: "
        f"{sum(len(w.workers) for w in jobs.WORKSHOPS)} demo members' wages of {jobs.PERIOD}, {yuan(wages_fen)} yuan",
    ]

"""The report's jobs, payroll and 双提升 plan loaded into a running projects service through its API, after its
projects (`demo_projects_load`): the 同心就业工场 and its branches with two demo members' June wages, the 233
public-welfare posts (three held by demo members, one paired with a household of an elderly woman living alone),
June 2020's payroll prepared by finance and approved by another officer, and 耿店村's income shared by a plan
prepared by the village (摸底), reviewed by the township (审核) and approved by finance. Each is looked up before it
is made, so loading again changes nothing.
"""

from __future__ import annotations

from typing import Any

from shared.local import demo_projects_jobs as jobs
from shared.local import demo_projects_money as money
from shared.local.demo_projects_load import FINANCE, OFFICE, Api, signed
from shared.local.demo_projects_stock import GENGDIAN, GREENHOUSES, YUAN

CHIEF = signed("finance_officer", "demo-section-chief-wang")
CADRE = signed("village_cadre", "demo-cadre-gengdian", GENGDIAN)
TOWNSHIP = signed("township_office", "demo-township-jiazhai", GENGDIAN[:9])


def member(household: dict[str, Any], name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [m for m in household["members"] if m["name"] == name]
    return found[0]


def workshops(api: Api, households: dict[str, dict[str, Any]], projects: dict[str, dict[str, Any]]) -> int:
    """The 同心就业工场, its branches and the demo members they employ, with June's wages: their sum (fen)."""
    found, wages_fen = {w["name"]: w for w in api.items("/v1/workshops", OFFICE)}, 0
    for n, shop in enumerate(jobs.WORKSHOPS):
        if shop.name not in found:
            body: dict[str, Any] = {"name": shop.name, "kind": "employment_workshop", "area_code": shop.area_code}
            body |= {"operator": jobs.OPERATOR, "project_id": None, "parent_id": None}
            if shop.project_code is not None:
                body["project_id"] = projects[shop.project_code]["id"]
            if shop.parent is not None:
                body["parent_id"] = found[shop.parent]["id"]
            found[shop.name] = api.create("/v1/workshops", body, OFFICE, key=f"workshop-{n}")
        if shop.workers:
            wages_fen += _workers(api, f"/v1/workshops/{found[shop.name]['id']}", shop, households)
    return wages_fen


def _workers(api: Api, path: str, shop: jobs.Workshop, households: dict[str, dict[str, Any]]) -> int:
    """The shop's demo workers employed since April and paid June's wage: the wages' sum (fen)."""
    employed = {e["member_id"]: e for e in api.items(f"{path}/workers", OFFICE)}
    ours = []
    for code, name, yuan in shop.workers:
        household, worker = households[code], member(households[code], name)
        if worker["id"] not in employed:
            body = {"household_id": household["id"], "member_id": worker["id"], "monthly_wage_fen": yuan * YUAN}
            body["started_on"] = jobs.EMPLOYED_SINCE.isoformat()
            employed[worker["id"]] = api.create(f"{path}/workers", body, OFFICE, key=f"worker-{code}")
        ours.append(employed[worker["id"]])
    paid = {w["employment_id"]: w["amount_fen"] for w in api.items(f"{path}/wages", OFFICE, period=jobs.PERIOD)}
    if unpaid := [{"employment_id": e["id"], "amount_fen": e["monthly_wage_fen"]} for e in ours if e["id"] not in paid]:
        api.create(f"{path}/wages", {"period": jobs.PERIOD, "lines": unpaid}, FINANCE, key="wages")
    return sum(int(paid.get(e["id"], e["monthly_wage_fen"])) for e in ours)


def posts(api: Api, households: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The 233 posts, their demo holders and the care pairing, as they read now."""
    found = {p["title"]: p for p in api.items("/v1/posts", OFFICE)}
    for n, post in enumerate(jobs.POSTS):
        if post.title not in found:
            found[post.title] = api.create("/v1/posts", post.body(), OFFICE, key=f"post-{n}")
        current = found[post.title]
        if post.holder is not None and current["holder"] is None:
            household = households[post.holder[0]]
            holder = member(household, post.holder[1])["id"]
            body = {"household_id": household["id"], "member_id": holder, "started_on": jobs.HELD_SINCE.isoformat()}
            current["holder"] = api.create(f"/v1/posts/{current['id']}/holder", body, OFFICE, key=f"holder-{n}")
        if post.cares_for is not None:
            _pair(api, current, households[post.cares_for]["id"])
    return [found[post.title] for post in jobs.POSTS]


def _pair(api: Api, post: dict[str, Any], cared_id: str) -> None:
    pairs = api.items("/v1/pairings", OFFICE, area_code=post["area_code"])
    if not any(p["post_id"] == post["id"] and p["cared_household_id"] == cared_id for p in pairs):
        body = {"cared_household_id": cared_id, "started_on": jobs.HELD_SINCE.isoformat()}
        api.create(f"/v1/posts/{post['id']}/pairings", body, OFFICE, key="pairing")


def payroll(api: Api) -> dict[str, Any]:
    """June 2020's payroll of the posts, prepared by finance and approved by another officer."""
    months = {p["period"]: p for p in api.items("/v1/payrolls", OFFICE)}
    found = months.get(jobs.PERIOD) or api.create("/v1/payrolls", {"period": jobs.PERIOD}, FINANCE, key="payroll")
    if found["status"] == "prepared":
        found = api.send("POST", f"/v1/payrolls/{found['id']}/approval", CHIEF)
    return found


def plan(api: Api, projects: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """耿店村's income shared (双提升): prepared by the village, reviewed by the township, approved by finance."""
    project_id = projects[GREENHOUSES.code]["id"]
    live = [p for p in api.items("/v1/plans", OFFICE, project_id=project_id) if p["status"] != "rejected"]
    if live:
        found = live[0]
    else:
        [income] = api.items(f"/v1/projects/{project_id}/income", OFFICE)
        found = api.create("/v1/plans", money.plan(income["id"]), CADRE, key="plan")
    path = f"/v1/plans/{found['id']}"
    if found["status"] == "prepared":
        found = api.send("POST", f"{path}/review", TOWNSHIP, {"approve": True, "note": "镇审核: 名单与人口核对无误"})
    if found["status"] == "reviewed":
        found = api.send("POST", f"{path}/approval", CHIEF)
    return found


def account(api: Api, found: dict[str, Any]) -> dict[str, Any]:
    """A paid plan accounted for (报账)."""
    if found["status"] != "paid":
        return found
    return api.send("POST", f"/v1/plans/{found['id']}/accounting", FINANCE, {"voucher_no": "记-2020-07-015"})

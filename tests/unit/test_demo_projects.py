"""The projects demo's figures, without a platform: its records add up to the district's half-year report, exact to
the fen, and every body it sends is one the projects API takes (tests/e2e/test_demo_data.py loads them end to end).
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date
from typing import Any

import pytest

from services.projects.rules.distribution import divide
from services.projects.schemas.assets import AssetCreate
from services.projects.schemas.funds import AllocationCreate, SpendingCreate
from services.projects.schemas.income import IncomeCreate
from services.projects.schemas.inspections import InspectionCreate
from services.projects.schemas.lifecycle import (
    AcceptanceCreate,
    ContractCreate,
    MilestoneCreate,
    MilestoneUpdate,
    TransitionCreate,
)
from services.projects.schemas.plans import PlanCreate
from services.projects.schemas.posts import PostCreate
from services.projects.schemas.projects import ProjectCreate
from shared.cli import main
from shared.local import demo
from shared.local import demo_projects_jobs as jobs
from shared.local import demo_projects_money as money
from shared.local import demo_projects_stock as stock

YUAN = 100
END_OF_JUNE = date(2020, 6, 30)
NEW = {p.code: p for p in stock.NEW_PROJECTS}


def line(key: str) -> money.FundLine:
    [found] = [f for f in money.FUND_LINES if f.key == key]
    return found


def drawn(key: str) -> int:
    return sum(yuan for p in stock.PROJECTS for k, yuan in p.draws if k == key)


def spent(projects: list[stock.Project], key: str) -> int:
    return sum(s["amount_fen"] for p in projects if key in dict(p.draws) for s in p.spending(key))


def test_the_years_two_lines_are_the_reports_and_the_new_projects_spend_them_whole() -> None:
    district, higher = line("district-2020"), line("higher-2020")
    assert (district.source, district.year, district.amount_yuan) == ("district", 2020, 21_500_000)
    assert (higher.source, higher.year, higher.amount_yuan) == ("provincial", 2020, 20_820_000)
    assert higher.purpose == "上级专项扶贫资金 (中央、省、市, 报告未分列)"  # not split where the report does not
    assert all({k for k, _ in p.draws} == {"district-2020", "higher-2020"} for p in stock.NEW_PROJECTS)
    assert (drawn("district-2020"), drawn("higher-2020")) == (21_500_000, 20_820_000)
    assert spent(stock.NEW_PROJECTS, "district-2020") == 21_500_000 * YUAN
    assert spent(stock.NEW_PROJECTS, "higher-2020") == 20_820_000 * YUAN
    assert spent(stock.NEW_PROJECTS, "district-2020") + spent(stock.NEW_PROJECTS, "higher-2020") == 4_232 * 10**4 * YUAN
    days = [date.fromisoformat(s["spent_on"]) for p in stock.NEW_PROJECTS for k, _ in p.draws for s in p.spending(k)]
    assert max(days) <= END_OF_JUNE
    assert all(
        date.fromisoformat(s["spent_on"]) >= p.started_on for p in stock.NEW_PROJECTS for s in p.spending(p.draws[0][0])
    )


def test_each_standing_years_line_is_what_its_projects_drew() -> None:
    standing = [f for f in money.FUND_LINES if f.year < 2020]
    assert {f.year for f in standing} == {2016, 2017, 2018, 2019}
    assert all(drawn(f.key) == f.amount_yuan and "演示" in f.purpose for f in standing)
    assert spent(stock.STANDING, "district-2016") == 0  # the report gives no spending of earlier years


def test_seven_new_projects_in_the_five_townships_three_operating_four_building() -> None:
    assert len(NEW) == 7 and all(p.year == 2020 for p in NEW.values())
    assert {p.area_code[:9] for p in NEW.values()} == set(demo.TOWNSHIPS)
    operating = [p for p in NEW.values() if p.status == "operating"]
    building = [p for p in NEW.values() if p.status == "under_construction"]
    assert (len(operating), len(building)) == (3, 4)
    assert all(
        p.asset is not None and "accepted" in p.life and all(m.completed_on for m in p.milestones) for p in operating
    )
    assert all(p.due_on == date(2020, 8, 31) and p.asset is None for p in building)
    assert all(p.milestones and any(m.completed_on is None for m in p.milestones) for p in building)
    assert all(max(p.life.values()) <= END_OF_JUNE for p in NEW.values())


def test_83_standing_projects_operate_each_asset_a_village_collectives() -> None:
    assert len(stock.STANDING) == 83 and len({p.code for p in stock.PROJECTS}) == 90
    assert {p.status for p in stock.STANDING} == {"operating"}
    assert {p.year for p in stock.STANDING} == {2016, 2017, 2018, 2019}
    for project in stock.STANDING:
        assert project.asset is not None
        owner = project.asset.owner_area_code
        assert len(owner) == 12 and owner[:9] == project.area_code[:9], project.code
    gengdian = stock.GREENHOUSES
    assert gengdian.name == "耿店村扶贫大棚 95 个" and gengdian.budget_yuan == 12_850_000
    assert gengdian.asset_body() is not None and gengdian.asset_body()["agreed_return_bp"] == 800  # type: ignore[index]
    assert stock.village_name(gengdian.area_code) == "耿店村"


def test_every_standing_project_is_inspected_in_2020_a_few_with_problems_one_severe() -> None:
    inspections = [p.inspection() for p in stock.STANDING]
    assert all(i is not None and i["inspected_on"].startswith("2020-") for i in inspections)
    problems = [problem for i in inspections if i for problem in i["problems"]]
    assert 0 < len(problems) <= 5
    [severe] = [p for p in problems if p.get("severity") == "severe"]
    assert "收益未到位" in severe["description"]
    assert stock.NO_INCOME not in money.INCOMES  # and no income was recorded for it


def test_the_income_received_is_the_reports_across_the_assets_in_the_first_half() -> None:
    assert sum(i.amount_fen for i in money.INCOMES.values()) == 4_466_400 * YUAN
    projects = {p.code: p for p in stock.PROJECTS}
    assert all(projects[code].asset is not None for code in money.INCOMES)
    assert all("2020-01" <= i.period <= "2020-06" and i.received_on <= END_OF_JUNE for i in money.INCOMES.values())
    assert all(i.period >= f"{projects[code].life['operating']:%Y-%m}" for code, i in money.INCOMES.items())


def test_the_double_improvement_plan_sets_half_aside_and_shares_the_rest_exactly() -> None:
    income = money.INCOMES[stock.GREENHOUSES.code]
    assert income.amount_fen == 1_007_600 * YUAN
    body = money.plan(str(uuid.uuid4()))
    set_asides = {s["purpose"]: s["share_bp"] for s in body["set_asides"]}
    assert set_asides == {"double_improvement": 5000}
    # Shared by living members among the demo households of 耿店村: 王秀英's and 杨建国's, two members each.
    living = {code: 1 + len(demo.MEMBERS.get(n, [])) for n, code in ((0, "DEMO-0001"), (5, "DEMO-0006"))}
    assert {demo._household(n, demo.HEADS[n])["area_code"] for n in (0, 5)} == {stock.GENGDIAN}
    division = divide(income.amount_fen, set_asides_bp=set_asides, weights={uuid.uuid4(): w for w in living.values()})
    assert division.set_asides == {"double_improvement": 503_800 * YUAN}
    assert sorted(division.shares.values()) == [251_900 * YUAN] * 2


def test_insurance_covers_every_project_for_the_reports_sum_and_the_solar_plants_are_maintained() -> None:
    contracts = {p.code: money.contracts(p) for p in stock.PROJECTS}
    insured = [c for cs in contracts.values() for c in cs if c["kind"] == "insurance"]
    assert len(insured) == 90 and sum(c["cost_fen"] for c in insured) == 148_000 * YUAN
    solar = {p.code for p in stock.PROJECTS if p.kind == "photovoltaic"}
    assert solar and {code for code, cs in contracts.items() if len(cs) == 2} == solar


def test_233_posts_at_900_yuan_held_only_by_demo_members_in_their_area() -> None:
    posts = jobs.POSTS
    assert len(posts) == 233 and len({p.title for p in posts}) == 233
    assert sum(p.body()["monthly_allowance_fen"] for p in posts) == 209_700 * YUAN  # the report's 20.97万
    areas = {demo.code_of(n): demo._household(n, head)["area_code"] for n, head in enumerate(demo.HEADS)}
    names = {
        demo.code_of(n): [m["name"] for m in demo._household(n, head)["members"]] for n, head in enumerate(demo.HEADS)
    }
    held = [p for p in posts if p.holder]
    assert 0 < len(held) < 5
    assert all(p.holder and areas[p.holder[0]] == p.area_code and p.holder[1] in names[p.holder[0]] for p in held)
    [cared] = [p.cares_for for p in posts if p.cares_for]
    n = int(cared.removeprefix("DEMO-")) - 1
    assert (
        n not in demo.MEMBERS and demo._household(n, demo.HEADS[n])["members"][0]["birth_date"] < "1960"
    )  # alone, old


def test_the_workshop_has_its_three_branches_and_employs_demo_members() -> None:
    parent, *branches = jobs.WORKSHOPS
    assert "43" in parent.name and "89" in parent.name and parent.project_code in NEW
    assert {stock.village_name(b.area_code) for b in branches} == {"陈铺村", "南关村", "菜张村"}
    assert all(b.parent == parent.name for b in branches)
    assert sum(len(w.workers) for w in jobs.WORKSHOPS) == 2


def bodies() -> list[tuple[type[Any], dict[str, Any]]]:
    some_id = str(uuid.uuid4())
    sent: list[tuple[type[Any], dict[str, Any]]] = [(AllocationCreate, f.body()) for f in money.FUND_LINES]
    sent += [(PlanCreate, money.plan(some_id)), *((PostCreate, p.body()) for p in jobs.POSTS)]
    for p in stock.PROJECTS:
        sent += [(ProjectCreate, p.registration()), *((TransitionCreate, t) for t in p.transitions())]
        sent += [(ContractCreate, c) for c in money.contracts(p)]
        sent += [(SpendingCreate, s | {"funding_id": some_id}) for k, _ in p.draws for s in p.spending(k)]
        sent += [(MilestoneCreate, m.body()) for m in p.milestones]
        sent += [(MilestoneUpdate, u) for m in p.milestones if (u := m.progress())]
        sent += [(AcceptanceCreate, p.acceptance())] if "accepted" in p.life else []
        sent += [(AssetCreate, a)] if (a := p.asset_body()) else []
        sent += [(InspectionCreate, i)] if (i := p.inspection()) else []
        sent += [(IncomeCreate, money.INCOMES[p.code].body(some_id))] if p.code in money.INCOMES else []
    return sent


def test_every_body_the_demo_sends_is_one_the_projects_api_takes() -> None:
    sent = bodies()
    assert Counter(schema for schema, _ in sent)[ProjectCreate] == 90
    for schema, body in sent:
        schema.model_validate(body)


def test_demo_data_loads_the_projects_from_the_projects_service_given(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[dict[str, str]] = []

    def load(urls: dict[str, str], **_: Any) -> demo.Loaded:
        asked.append(urls)
        return demo.Loaded()

    monkeypatch.setattr(demo, "load", load)
    assert main(["demo-data", "--projects", "http://projects:8002"]) == 0
    assert asked == [{"households": "http://127.0.0.1:8001", "projects": "http://projects:8002"}]

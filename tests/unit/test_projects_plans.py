"""Assets, their income and the distribution plans that share it (摸底 → 审核 → 批准 → 发放 → 报账) on a migrated
SQLite file: every step and refusal, exact fen, who is entitled, separation of duties, payments coming back.

The scenarios take the running app (`api`) so that tests/integration/test_projects_plans_postgres.py runs them
again on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, insert, select
from sqlmodel import col

from services.projects.domain import plan_preparation
from services.projects.models import (
    DistributionPlan,
    PlanShare,
    Project,
    ProjectAsset,
    ProjectIncome,
    RollHousehold,
    RollMember,
)
from services.projects.schemas.assets import AssetCreate
from services.projects.schemas.income import IncomeCreate
from services.projects.schemas.plans import (
    CategoryPoints,
    PlanAccounting,
    PlanCreate,
    PlanRejection,
    PlanReview,
    SetAside,
)
from shared.api.clock import request_time
from shared.contracts.subsidies import CorrectionKind, PolicyCode, SubsidyPaid, SubsidyPaymentCorrected
from shared.errors import RuleViolation
from shared.messaging.outbox import OutboxMessage
from shared.schemas import RequestBody
from tests.support import apply_event, assert_problem, auth, running_app

TOWNSHIP = "371523101"
VILLAGE = "371523101201"
NEIGHBOUR = "371523101202"  # another village of the township
MOMENT = datetime(2020, 7, 10, 2, 0, tzinfo=UTC)  # 10:00 on 10 July 2020 in the district
TODAY = date(2020, 7, 10)
OFFICE = auth("district_office", sub="district-1")
FINANCE = auth("finance_officer", sub="finance-1")
CADRE = auth("village_cadre", area=VILLAGE, sub="cadre-1")
TOWNSHIP_OFFICE = auth("township_office", area=TOWNSHIP, sub="township-1")
READER = auth("auditor", sub="auditor-1")
ASSET = {**AssetCreate.example, "registered_on": "2020-06-15"}
ASSET_ROW = {
    **ASSET,
    "registered_on": date(2020, 6, 15),
    "registered_by": "district-1",
    "registered_at": MOMENT,
}
LAST_DECEMBER: dict[str, Any] = {
    "period": "2019-12",
    "amount_fen": 7,
    "recorded_by": "finance-1",
    "recorded_at": MOMENT,
}
APPROVED = "gov.poverty.projects.income_distribution_approved.v1"


@asynccontextmanager
async def plans_app(url: str) -> AsyncIterator[tuple[Any, Any]]:
    """The projects app on `url`, its requests acting at MOMENT."""
    async with running_app("projects", url) as (app, client):
        app.dependency_overrides[request_time] = lambda: MOMENT
        yield app, client


@pytest.fixture
async def api(sqlite_url: Any) -> AsyncIterator[tuple[Any, Any]]:
    async with plans_app(await sqlite_url("projects")) as running:
        yield running


# --- the roll, projects, assets and income the tests start from -------------------------------------------------


@dataclass
class Household:
    area_code: str = VILLAGE
    status: str = "in_poverty"
    born: list[date] = field(default_factory=lambda: [date(1975, 1, 1)])
    grades: dict[int, int] = field(default_factory=dict)  # member index -> disability grade
    dead: set[int] = field(default_factory=set)  # member indexes dead before the plan's day
    id: UUID = field(default_factory=uuid4)


async def enrol(app: Any, *households: Household) -> list[UUID]:
    """The households on the roll, as households' events would have left them."""
    rows, members = [], []
    for h in households:
        living = len(h.born) - len(h.dead)
        rows.append(
            {
                "household_id": h.id,
                "area_code": h.area_code,
                "status": h.status,
                "member_count": living,
                "updated_at": MOMENT,
            }
        )
        members += [
            {
                "member_id": uuid4(),
                "household_id": h.id,
                "birth_date": born,
                "disability_grade": h.grades.get(i),
                "died_on": date(2020, 1, 1) if i in h.dead else None,
            }
            for i, born in enumerate(h.born)
        ]
    async with app.state.sessions() as s, s.begin():
        await s.execute(insert(RollHousehold), rows)
        if members:
            await s.execute(insert(RollMember), members)
    return [h.id for h in households]


async def a_project(app: Any, *, area: str = VILLAGE, status: str = "operating", code: str | None = None) -> str:
    """A project in `status`: its life up to there is another module's."""
    project = Project(
        project_code=code or f"XM-{uuid4().hex[:8].upper()}",
        name="贾寨村扶贫大棚",
        kind="greenhouse",
        area_code=area,
        budget_fen=150_000_000,
        started_on=date(2020, 3, 1),
        registered_at=MOMENT,
        status=status,
        manager_id="manager-1",
    )
    async with app.state.sessions() as s, s.begin():
        s.add(project)
    return str(project.id)


async def an_asset(client: Any, project: str, **changes: Any) -> str:
    r = await client.post(f"/v1/projects/{project}/assets", json={**ASSET, **changes}, headers=OFFICE)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def an_income(client: Any, project: str, asset: str, amount: int = 100_000, period: str = "2020-06") -> str:
    body = {"asset_id": asset, "period": period, "amount_fen": amount}
    r = await client.post(f"/v1/projects/{project}/income", json=body, headers=FINANCE)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def village_income(app: Any, client: Any, amount: int = 100_000, **asset: Any) -> str:
    project = await a_project(app)
    return await an_income(client, project, await an_asset(client, project, **asset), amount)


def village() -> dict[str, Household]:
    """Six households of the township: three entitled in the village, three not (exited without policies, in the
    neighbouring village, no living member)."""
    return {
        "family": Household(born=[date(1975, 1, 1), date(1978, 5, 1), date(2008, 9, 1)]),
        "widow": Household(status="exited_receiving_policies", born=[date(1950, 2, 1)]),
        "carers": Household(status="monitored", born=[date(1970, 1, 1), date(1945, 1, 1)], grades={0: 1}),
        "exited": Household(status="exited_no_policies", born=[date(1980, 1, 1)] * 4),
        "neighbour": Household(area_code=NEIGHBOUR, born=[date(1980, 1, 1), date(1982, 1, 1)]),
        "gone": Household(status="relapsed", born=[date(1930, 1, 1)], dead={0}),
    }


async def prepare(client: Any, income: str, headers: dict[str, str] = CADRE, **rule: Any) -> Any:
    return await client.post("/v1/plans", json={"income_id": income, "basis": "members", **rule}, headers=headers)


async def prepared(client: Any, income: str, headers: dict[str, str] = CADRE, **rule: Any) -> dict[str, Any]:
    r = await prepare(client, income, headers, **rule)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def step(client: Any, plan: str, name: str, headers: dict[str, str], body: Any = None) -> Any:
    return await client.post(f"/v1/plans/{plan}/{name}", json=body, headers=headers)


async def approved(client: Any, plan: str) -> dict[str, Any]:
    assert (await step(client, plan, "review", TOWNSHIP_OFFICE, {"approve": True})).status_code == 200
    r = await step(client, plan, "approval", FINANCE)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def shares_of(client: Any, plan: str) -> dict[str, dict[str, Any]]:
    r = await client.get(f"/v1/plans/{plan}/shares", headers=READER)
    assert r.status_code == 200, r.text
    return {s["household_id"]: s for s in r.json()["items"]}


async def outbox(app: Any, event_type: str) -> list[dict[str, Any]]:
    async with app.state.sessions() as s:
        rows = await s.scalars(
            select(OutboxMessage).where(col(OutboxMessage.event_type) == event_type).order_by(col(OutboxMessage.id))
        )
        return [json.loads(r.payload) for r in rows.all()]


async def walk(client: Any, path: str) -> list[dict[str, Any]]:
    """Every item of a list, two to a page."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await client.get(path, params={"limit": 2} | ({"cursor": cursor} if cursor else {}), headers=READER)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        if (cursor := page.json()["next_cursor"]) is None:
            return items


async def count(app: Any, model: Any) -> int:
    async with app.state.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


def at(moment: datetime) -> Any:
    """A request clock stopped at `moment`."""
    return lambda: moment


def paid(plan: str, household: str, amount: int, payment: UUID | None = None) -> SubsidyPaid:
    return SubsidyPaid(
        household_id=UUID(household),
        payment_id=payment or uuid4(),
        policy_code=PolicyCode.PROJECT_INCOME_SHARE,
        period="2020-06",
        amount_fen=amount,
        cycle_id=UUID(plan),
    )


def reversed_(household: str, payment: UUID, amount: int) -> SubsidyPaymentCorrected:
    return SubsidyPaymentCorrected(
        household_id=UUID(household),
        payment_id=payment,
        kind=CorrectionKind.REVERSAL,
        policy_code=PolicyCode.PROJECT_INCOME_SHARE,
        period="2020-06",
        amount_fen=amount,
    )


# --- preparing a plan (摸底) ---------------------------------------------------------------------------------------


async def test_a_plan_by_members_shares_exactly_among_the_entitled_households_only(api: Any) -> None:
    app, client = api
    households = village()
    await enrol(app, *households.values())
    income = await village_income(app, client)
    plan = await prepared(
        client, income, set_asides=[{"purpose": "public_welfare_jobs", "share_bp": 2000}], note="六月收益"
    )
    assert (plan["status"], plan["basis"], plan["judged_on"], plan["note"]) == (
        "prepared",
        "members",
        "2020-07-10",
        "六月收益",
    )
    assert (plan["amount_fen"], plan["set_aside_fen"], plan["shared_fen"], plan["household_count"]) == (
        100_000,
        20_000,
        80_000,
        3,
    )
    assert plan["set_asides"] == [{"purpose": "public_welfare_jobs", "share_bp": 2000, "amount_fen": 20_000}]
    shares = await shares_of(client, plan["id"])
    got = {name: shares[str(h.id)]["amount_fen"] for name, h in households.items() if str(h.id) in shares}
    assert got == {"family": 40_000, "widow": 13_333, "carers": 26_667}  # 80,000 x 3/6, 1/6, 2/6; the fen to 2/6
    family = shares[str(households["family"].id)]
    assert family["explanation"] == (
        "3 living members of 6 in village 371523101201: 3/6 of 80,000 fen after 20 % set aside: 40,000 fen"
    )
    assert family["facts"] == {
        "area_code": VILLAGE,
        "status": "in_poverty",
        "living_members": 3,
        "categories": [],
        "weight": 3,
        "judged_on": "2020-07-10",
    }
    assert family["status"] == "planned" and family["payment_id"] is None
    assert await outbox(app, APPROVED) == []


async def test_a_plan_by_categories_weighs_each_households_points(api: Any) -> None:
    app, client = api
    households = village()
    await enrol(app, *households.values())
    income = await village_income(app, client)
    points = {"weak_labour": 2, "disabled": 3, "elderly_alone": 5}
    plan = await prepared(client, income, basis="categories", category_points=points)
    assert plan["category_points"] == points and plan["set_asides"] == []
    shares = await shares_of(client, plan["id"])
    by_name = {name: shares[str(h.id)] for name, h in households.items() if str(h.id) in shares}
    assert {n: (s["weight"], s["facts"]["categories"], s["amount_fen"]) for n, s in by_name.items()} == {
        "family": (1, [], 7692),
        "widow": (7, ["elderly_alone", "weak_labour"], 53_846),
        "carers": (5, ["disabled", "weak_labour"], 38_462),
    }
    assert by_name["carers"]["explanation"] == (
        "5 points (disabled, weak labour) of 13 in village 371523101201: 5/13 of 100,000 fen: 38,462 fen"
    )


async def test_a_plan_by_households_shares_equally_and_a_township_asset_reaches_its_villages(api: Any) -> None:
    app, client = api
    households = village()
    await enrol(app, *households.values())
    township_owned: dict[str, Any] = {"owner_kind": "township", "owner_area_code": TOWNSHIP}
    income = await village_income(app, client, **township_owned)
    assert_problem(await prepare(client, income, basis="households"), 403)  # a village cadre does not reach it
    plan = await prepared(client, income, TOWNSHIP_OFFICE, basis="households")
    shares = await shares_of(client, plan["id"])
    entitled = sorted(str(households[n].id) for n in ("family", "widow", "carers", "neighbour"))
    assert sorted(shares) == entitled
    assert [shares[h]["amount_fen"] for h in entitled] == [25_000] * 4
    assert shares[entitled[0]]["explanation"].startswith("1 of 4 households in township 371523101, shared equally")


async def test_the_rounding_fen_go_to_the_lowest_household_ids_and_a_zero_share_gets_no_row(api: Any) -> None:
    app, client = api
    ids = await enrol(app, *(Household() for _ in range(4)))
    plan = await prepared(client, await village_income(app, client, amount=3), basis="households")
    assert plan["household_count"] == 3
    shares = await shares_of(client, plan["id"])
    assert sorted(shares) == sorted(str(h) for h in ids)[:3]
    assert {s["amount_fen"] for s in shares.values()} == {1}
    plan = await prepared(client, await village_income(app, client, amount=6), basis="households")
    assert sorted(s["amount_fen"] for s in (await shares_of(client, plan["id"])).values()) == [1, 1, 2, 2]


async def test_a_plan_with_nobody_entitled_or_too_many_or_nothing_to_share_is_refused(
    api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, client = api
    households = village()
    await enrol(app, households["exited"], households["neighbour"], households["gone"])
    income = await village_income(app, client)
    assert assert_problem(await prepare(client, income), 409)["code"] == "no_households"
    await enrol(app, Household(), Household(), Household())
    monkeypatch.setattr(plan_preparation, "MAX_PLAN_SHARES", 2)
    assert assert_problem(await prepare(client, income), 409)["code"] == "plan_too_large"
    monkeypatch.setattr(plan_preparation, "MAX_PLAN_SHARES", 3)
    everything = [
        {"purpose": "public_welfare_jobs", "share_bp": 6000},
        {"purpose": "double_improvement", "share_bp": 4000},
    ]
    assert assert_problem(await prepare(client, income, set_asides=everything), 409)["code"] == "nothing_to_share"
    assert (await count(app, DistributionPlan), await count(app, PlanShare)) == (0, 0)
    assert (await prepare(client, income)).status_code == 201


async def test_one_live_plan_per_income_and_a_rejected_one_may_be_planned_again(api: Any) -> None:
    app, client = api
    await enrol(app, Household())
    income = await village_income(app, client)
    first = await prepared(client, income)
    assert assert_problem(await prepare(client, income), 409)["code"] == "plan_exists"
    r = await step(client, first["id"], "review", TOWNSHIP_OFFICE, {"approve": False, "note": "户数待核实"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    again = await prepared(client, income, basis="households")
    assert again["id"] != first["id"]
    assert (await count(app, DistributionPlan), await count(app, PlanShare)) == (2, 2)


@pytest.mark.parametrize(
    ("rule", "code"),
    [
        ({"basis": "categories"}, "category_points_required"),
        ({"category_points": CategoryPoints.example}, "category_points_unused"),
        (
            {"set_asides": [{"purpose": "double_improvement", "share_bp": 100}] * 2},
            "repeated_purpose",
        ),
        (
            {
                "set_asides": [
                    {"purpose": "double_improvement", "share_bp": 5000},
                    {"purpose": "public_welfare_jobs", "share_bp": 5001},
                ]
            },
            "set_aside_too_large",
        ),
        ({"set_asides": [{"purpose": "double_improvement", "share_bp": 0}]}, "greater_than_equal"),
        ({"basis": "land"}, "enum"),
        ({"basis": "categories", "category_points": {**CategoryPoints.example, "disabled": 0}}, "greater_than_equal"),
    ],
)
async def test_a_bad_rule_is_422_and_prepares_nothing(api: Any, rule: dict[str, Any], code: str) -> None:
    app, client = api
    await enrol(app, Household())
    income = await village_income(app, client)
    r = await prepare(client, income, **rule)
    assert code in {e["code"] for e in assert_problem(r, 422)["errors"]}
    assert await count(app, DistributionPlan) == 0


async def test_an_unknown_income_or_one_out_of_reach_is_refused(api: Any) -> None:
    app, client = api
    await enrol(app, Household())
    assert_problem(await prepare(client, str(uuid4())), 404)
    income = await village_income(app, client)
    other_cadre = auth("village_cadre", area=NEIGHBOUR, sub="cadre-2")
    assert_problem(await prepare(client, income, other_cadre), 403)
    for wrong_role in (FINANCE, READER):
        assert_problem(await prepare(client, income, wrong_role), 403)
    assert await count(app, DistributionPlan) == 0


async def test_a_plan_retried_with_its_key_is_prepared_once(api: Any) -> None:
    app, client = api
    await enrol(app, Household(), Household())
    income = await village_income(app, client)
    key = {**CADRE, "Idempotency-Key": "plan-2020-06"}
    first, again = await prepare(client, income, key), await prepare(client, income, key)
    assert (first.status_code, again.status_code, again.json()) == (201, 200, first.json())
    assert (await count(app, DistributionPlan), await count(app, PlanShare)) == (1, 2)


# --- review, approval, rejection ------------------------------------------------------------------------------------


async def test_a_plan_is_reviewed_approved_and_published_for_subsidies(api: Any) -> None:
    app, client = api
    ids = await enrol(app, Household(), Household(born=[date(1980, 1, 1)] * 2))
    income = await village_income(app, client, amount=90_000)
    plan = await prepared(client, income)
    reviewed = await step(client, plan["id"], "review", TOWNSHIP_OFFICE, {"approve": True, "note": "核对无误"})
    assert reviewed.status_code == 200, reviewed.text
    assert (reviewed.json()["status"], reviewed.json()["reviewed_by"], reviewed.json()["review_note"]) == (
        "reviewed",
        "township-1",
        "核对无误",
    )
    r = await step(client, plan["id"], "approval", FINANCE)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["approved_by"]) == ("approved", "finance-1")
    [event] = await outbox(app, APPROVED)
    assert event == {
        "project_id": plan["project_id"],
        "plan_id": plan["id"],
        "income_id": income,
        "period": "2020-06",
        "owner_area_code": VILLAGE,
        "approved_by": "finance-1",
        "shares": sorted(
            [{"household_id": str(ids[0]), "amount_fen": 30_000}, {"household_id": str(ids[1]), "amount_fen": 60_000}],
            key=lambda s: str(s["household_id"]),
        ),
    }
    read = (await client.get(f"/v1/plans/{plan['id']}", headers=READER)).json()
    assert read["status"] == "approved" and read["set_asides"] == []


async def test_the_approver_neither_prepared_nor_reviewed_the_plan(api: Any) -> None:
    app, client = api
    await enrol(app, Household())
    prepared_by_office = await prepared(client, await village_income(app, client), OFFICE)
    await step(client, prepared_by_office["id"], "review", TOWNSHIP_OFFICE, {"approve": True})
    refused = assert_problem(await step(client, prepared_by_office["id"], "approval", OFFICE), 403)
    assert refused["code"] == "separation_of_duties"
    reviewed_by_office = await prepared(client, await village_income(app, client))
    await step(client, reviewed_by_office["id"], "review", OFFICE, {"approve": True})
    refused = assert_problem(await step(client, reviewed_by_office["id"], "approval", OFFICE), 403)
    assert refused["code"] == "separation_of_duties"
    assert await outbox(app, APPROVED) == []
    assert (await step(client, reviewed_by_office["id"], "approval", FINANCE)).status_code == 200


async def test_a_step_out_of_order_is_409_naming_the_status(api: Any) -> None:
    app, client = api
    await enrol(app, Household())
    plan = (await prepared(client, await village_income(app, client)))["id"]
    voucher = PlanAccounting.example
    for name, headers, body in (
        ("approval", FINANCE, None),
        ("rejection", FINANCE, PlanRejection.example),
        ("accounting", FINANCE, voucher),
    ):
        problem = assert_problem(await step(client, plan, name, headers, body), 409)
        assert (problem["code"], problem["plan_status"]) == ("plan_state", "prepared")
    await approved(client, plan)
    for name, headers, body in (
        ("review", TOWNSHIP_OFFICE, {"approve": True}),
        ("approval", OFFICE, None),
        ("rejection", FINANCE, PlanRejection.example),
        ("accounting", FINANCE, voucher),
    ):
        problem = assert_problem(await step(client, plan, name, headers, body), 409)
        assert (problem["code"], problem["plan_status"]) == ("plan_state", "approved")
    assert len(await outbox(app, APPROVED)) == 1
    assert_problem(await step(client, str(uuid4()), "approval", FINANCE), 404)


async def test_a_rejection_says_who_and_why_at_review_and_at_approval(api: Any) -> None:
    app, client = api
    await enrol(app, Household())
    plan = (await prepared(client, await village_income(app, client)))["id"]
    refused = assert_problem(await step(client, plan, "review", TOWNSHIP_OFFICE, {"approve": False}), 422)
    assert [e["code"] for e in refused["errors"]] == ["note_required"]
    await step(client, plan, "review", TOWNSHIP_OFFICE, {"approve": True})
    r = await step(client, plan, "rejection", FINANCE, {"note": "弱劳力户认定需重新核实"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["rejected_by"], r.json()["rejection_note"]) == (
        "rejected",
        "finance-1",
        "弱劳力户认定需重新核实",
    )
    assert r.json()["approved_by"] is None and r.json()["reviewed_by"] == "township-1"
    assert await outbox(app, APPROVED) == []


async def test_a_plan_is_reviewed_only_within_the_reviewers_township(api: Any) -> None:
    app, client = api
    await enrol(app, Household())
    plan = (await prepared(client, await village_income(app, client)))["id"]
    elsewhere = auth("township_office", area="371523105", sub="township-9")
    assert_problem(await step(client, plan, "review", elsewhere, {"approve": True}), 403)
    assert_problem(await step(client, plan, "review", CADRE, {"approve": True}), 403)  # a cadre does not review
    assert (await client.get(f"/v1/plans/{plan}", headers=elsewhere)).status_code == 403


# --- paid by subsidies, accounted for (报账) ------------------------------------------------------------------------


async def test_payments_mark_the_shares_paid_once_and_the_plan_paid_then_accounted(api: Any) -> None:
    app, client = api
    low, high = sorted(str(h) for h in await enrol(app, Household(), Household()))
    plan = (await prepared(client, await village_income(app, client, amount=10_001)))["id"]
    await approved(client, plan)
    first, second = uuid4(), uuid4()
    await apply_event(app, paid(plan, low, 5001, first))  # the rounding fen went to the lower id
    await apply_event(app, paid(plan, low, 5001, first))  # sent again
    read = (await client.get(f"/v1/plans/{plan}", headers=READER)).json()
    assert (read["status"], read["paid_fen"]) == ("approved", 5001)
    assert_problem(await step(client, plan, "accounting", FINANCE, PlanAccounting.example), 409)
    await apply_event(app, paid(plan, high, 5000, second))
    read = (await client.get(f"/v1/plans/{plan}", headers=READER)).json()
    assert (read["status"], read["paid_fen"], read["paid_at"] is not None) == ("paid", 10_001, True)
    shares = await shares_of(client, plan)
    assert {h: (s["status"], s["payment_id"]) for h, s in shares.items()} == {
        low: ("paid", str(first)),
        high: ("paid", str(second)),
    }
    assert_problem(await step(client, plan, "accounting", OFFICE, PlanAccounting.example), 403)  # finance only
    r = await step(client, plan, "accounting", FINANCE, PlanAccounting.example)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["voucher_no"], r.json()["accounted_by"]) == (
        "accounted",
        "记-2020-07-015",
        "finance-1",
    )


async def test_a_payment_of_another_amount_than_the_share_is_refused(api: Any) -> None:
    app, client = api
    [household] = [str(h) for h in await enrol(app, Household())]
    plan = (await prepared(client, await village_income(app, client, amount=500)))["id"]
    await approved(client, plan)
    with pytest.raises(RuleViolation):
        await apply_event(app, paid(plan, household, 499))
    assert (await client.get(f"/v1/plans/{plan}", headers=READER)).json()["paid_fen"] == 0


async def test_a_reversed_payment_returns_the_share_and_the_plan_to_awaiting_payment(api: Any) -> None:
    app, client = api
    [household] = [str(h) for h in await enrol(app, Household())]
    plan = (await prepared(client, await village_income(app, client, amount=500)))["id"]
    await approved(client, plan)
    payment = uuid4()
    await apply_event(app, paid(plan, household, 500, payment))
    assert (await client.get(f"/v1/plans/{plan}", headers=READER)).json()["status"] == "paid"
    await apply_event(app, reversed_(household, payment, 500))
    await apply_event(app, reversed_(household, payment, 500))  # sent again
    read = (await client.get(f"/v1/plans/{plan}", headers=READER)).json()
    assert (read["status"], read["paid_fen"], read["paid_at"]) == ("approved", 0, None)
    [share] = (await shares_of(client, plan)).values()
    assert (share["status"], share["payment_id"]) == ("reversed", str(payment))
    follow_up = uuid4()
    await apply_event(app, paid(plan, household, 500, follow_up))
    read = (await client.get(f"/v1/plans/{plan}", headers=READER)).json()
    assert (read["status"], read["paid_fen"]) == ("paid", 500)


async def test_payments_of_other_cycles_and_unknown_payments_change_nothing(api: Any) -> None:
    app, client = api
    [household] = [str(h) for h in await enrol(app, Household())]
    plan = (await prepared(client, await village_income(app, client, amount=500)))["id"]
    await approved(client, plan)
    await apply_event(app, paid(str(uuid4()), household, 500))  # a cycle that is no plan's
    await apply_event(app, reversed_(household, uuid4(), 500))
    await apply_event(app, paid(plan, str(uuid4()), 500))  # a household without a share
    read = (await client.get(f"/v1/plans/{plan}", headers=READER)).json()
    assert (read["status"], read["paid_fen"]) == ("approved", 0)
    assert {s["status"] for s in (await shares_of(client, plan)).values()} == {"planned"}


# --- reading ----------------------------------------------------------------------------------------------------------


async def test_plans_are_listed_latest_first_filtered_and_paged(api: Any) -> None:
    app, client = api
    await enrol(app, Household(), Household(area_code=NEIGHBOUR))
    made = []
    for day, owner in ((1, VILLAGE), (2, NEIGHBOUR), (3, VILLAGE)):
        app.dependency_overrides[request_time] = at(datetime(2020, 7, day, 2, tzinfo=UTC))
        made.append(await prepared(client, await village_income(app, client, owner_area_code=owner), OFFICE))
    app.dependency_overrides[request_time] = lambda: MOMENT
    await step(client, made[2]["id"], "review", TOWNSHIP_OFFICE, {"approve": True})
    assert [p["id"] for p in await walk(client, "/v1/plans")] == [p["id"] for p in reversed(made)]
    reviewed = (await client.get("/v1/plans", params={"status": "reviewed"}, headers=READER)).json()["items"]
    assert [p["id"] for p in reviewed] == [made[2]["id"]]
    in_village = (await client.get("/v1/plans", headers=CADRE)).json()["items"]
    assert [p["id"] for p in in_village] == [made[2]["id"], made[0]["id"]]
    by_project = await client.get("/v1/plans", params={"project_id": made[1]["project_id"]}, headers=READER)
    assert [p["id"] for p in by_project.json()["items"]] == [made[1]["id"]]
    assert_problem(await client.get("/v1/plans", params={"area_code": NEIGHBOUR}, headers=CADRE), 403)
    assert_problem(await client.get("/v1/plans", params={"status": "spent"}, headers=READER), 422)


async def test_a_plans_shares_are_paged_by_household(api: Any) -> None:
    app, client = api
    ids = await enrol(app, *(Household() for _ in range(5)))
    plan = (await prepared(client, await village_income(app, client)))["id"]
    seen = [s["household_id"] for s in await walk(client, f"/v1/plans/{plan}/shares")]
    assert seen == sorted(str(h) for h in ids)
    assert_problem(await client.get(f"/v1/plans/{uuid4()}/shares", headers=READER), 404)


async def test_a_household_sees_what_it_got_from_plans_not_rejected(api: Any) -> None:
    app, client = api
    [household] = [str(h) for h in await enrol(app, Household())]
    june = (await prepared(client, await village_income(app, client, amount=700)))["id"]
    project = await a_project(app)
    asset = await an_asset(client, project)
    may = (await prepared(client, await an_income(client, project, asset, 300, "2020-05")))["id"]
    dropped = (await prepared(client, await an_income(client, project, asset, 5, "2020-04")))["id"]
    await step(client, dropped, "review", TOWNSHIP_OFFICE, {"approve": False, "note": "重做"})
    await approved(client, june)
    r = await client.get(f"/v1/households/{household}/plan-shares", headers=CADRE)
    assert r.status_code == 200, r.text
    assert [(s["plan_id"], s["period"], s["plan_status"], s["amount_fen"], s["status"]) for s in r.json()["items"]] == [
        (june, "2020-06", "approved", 700, "planned"),
        (may, "2020-05", "prepared", 300, "planned"),
    ]
    neighbour_cadre = auth("village_cadre", area=NEIGHBOUR)
    assert_problem(await client.get(f"/v1/households/{household}/plan-shares", headers=neighbour_cadre), 403)
    assert_problem(await client.get(f"/v1/households/{uuid4()}/plan-shares", headers=READER), 404)


# --- the bodies' examples -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", [AssetCreate, IncomeCreate, PlanCreate, CategoryPoints, SetAside, PlanReview, PlanRejection, PlanAccounting]
)
def test_every_request_body_accepts_its_own_example(body: type[RequestBody]) -> None:
    assert body.example is not None
    body.model_validate(body.example)


async def test_the_examples_are_accepted_by_the_service(api: Any) -> None:
    app, client = api
    await enrol(app, Household(born=[date(1950, 1, 1)]), Household(grades={0: 3}))
    project = await a_project(app)
    asset = await client.post(f"/v1/projects/{project}/assets", json=AssetCreate.example, headers=OFFICE)
    assert asset.status_code == 201, asset.text
    named = UUID(IncomeCreate.example["asset_id"])
    async with app.state.sessions() as s, s.begin():  # the examples name an asset and an income by their ids
        s.add(ProjectAsset(**{**ASSET_ROW, "id": named, "project_id": UUID(project)}))
        s.add(
            ProjectIncome(
                id=UUID(PlanCreate.example["income_id"]),
                project_id=UUID(project),
                asset_id=named,
                period="2020-05",
                amount_fen=1000,
                recorded_by="finance-1",
                recorded_at=MOMENT,
            )
        )
    income = await client.post(f"/v1/projects/{project}/income", json=IncomeCreate.example, headers=FINANCE)
    assert income.status_code == 201, income.text
    plan = await client.post("/v1/plans", json=PlanCreate.example, headers=CADRE)
    assert plan.status_code == 201, plan.text
    plan_id = plan.json()["id"]
    assert (await step(client, plan_id, "review", TOWNSHIP_OFFICE, PlanReview.example)).status_code == 200
    assert (await step(client, plan_id, "rejection", FINANCE, PlanRejection.example)).status_code == 200

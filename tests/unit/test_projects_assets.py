"""Assets (资产确权) and their income per month on a migrated SQLite file: registration and its refusals, the asset
register's sums, income once per asset and month with where its distribution plan stands."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.projects.models import Project, ProjectAsset, ProjectIncome
from tests.support import assert_problem, auth
from tests.unit.test_projects_plans import (
    ASSET,
    CADRE,
    FINANCE,
    LAST_DECEMBER,
    NEIGHBOUR,
    OFFICE,
    READER,
    TODAY,
    TOWNSHIP,
    TOWNSHIP_OFFICE,
    VILLAGE,
    Household,
    a_project,
    an_asset,
    an_income,
    count,
    enrol,
    outbox,
    plans_app,
    prepared,
    walk,
)


@pytest.fixture
async def api(sqlite_url: Any) -> AsyncIterator[tuple[Any, Any]]:
    async with plans_app(await sqlite_url("projects")) as running:
        yield running


# --- assets ---------------------------------------------------------------------------------------------------------


async def test_an_asset_is_registered_to_its_owner_and_published(api: Any) -> None:
    app, client = api
    project = await a_project(app)
    r = await client.post(f"/v1/projects/{project}/assets", json=ASSET, headers=TOWNSHIP_OFFICE)
    assert r.status_code == 201, r.text
    asset = r.json()
    assert (asset["owner_kind"], asset["owner_area_code"], asset["agreed_return_bp"]) == (
        "village_collective",
        VILLAGE,
        800,
    )
    assert (asset["year"], asset["income_this_year_fen"], asset["income_last_year_fen"]) == (2020, 0, 0)
    assert await outbox(app, "gov.poverty.projects.asset_registered.v1") == [
        {
            "project_id": project,
            "asset_id": asset["id"],
            "owner_area_code": VILLAGE,
            "value_fen": 150_000_000,
            "agreed_return_bp": 800,
        }
    ]
    township_owned = {**ASSET, "owner_kind": "township", "owner_area_code": TOWNSHIP}
    assert (await client.post(f"/v1/projects/{project}/assets", json=township_owned, headers=OFFICE)).status_code == 201
    listed = await client.get(f"/v1/projects/{project}/assets", headers=READER)
    assert [a["owner_area_code"] for a in listed.json()["items"]] == [TOWNSHIP, VILLAGE]


async def test_the_asset_register_sums_each_assets_income_this_year_and_last(api: Any) -> None:
    app, client = api
    project = await a_project(app)
    greenhouses, plant = await an_asset(client, project), await an_asset(client, project, owner_area_code=NEIGHBOUR)
    async with app.state.sessions() as s, s.begin():  # last year's income, recorded before this service kept assets
        s.add(ProjectIncome(**LAST_DECEMBER, project_id=UUID(project), asset_id=UUID(greenhouses)))
    for period, amount in (("2020-05", 300), ("2020-06", 200)):
        await an_income(client, project, greenhouses, amount, period)
    await an_income(client, project, plant, 50)
    r = await client.get("/v1/assets", params={"area_code": TOWNSHIP}, headers=READER)
    assert {(a["id"], a["income_this_year_fen"], a["income_last_year_fen"]) for a in r.json()["items"]} == {
        (greenhouses, 500, 7),
        (plant, 50, 0),
    }
    own = await client.get("/v1/assets", headers=auth("village_cadre", area=NEIGHBOUR))
    assert [a["id"] for a in own.json()["items"]] == [plant]
    assert_problem(await client.get("/v1/assets", params={"area_code": TOWNSHIP}, headers=CADRE), 403)
    elsewhere = await client.get("/v1/assets", params={"area_code": "371523105"}, headers=READER)
    assert elsewhere.json() == {"items": [], "next_cursor": None}


async def test_the_asset_register_is_paged(api: Any) -> None:
    app, client = api
    project = await a_project(app)
    ids = {await an_asset(client, project, owner_area_code=area) for area in [VILLAGE, NEIGHBOUR] * 3}
    seen = await walk(client, "/v1/assets")
    assert {a["id"] for a in seen} == ids and len(seen) == 6
    assert [a["owner_area_code"] for a in seen] == [VILLAGE] * 3 + [NEIGHBOUR] * 3


@pytest.mark.parametrize("status", ["planned", "approved", "under_construction", "completed", "closed"])
async def test_only_an_accepted_or_operating_project_registers_assets(api: Any, status: str) -> None:
    app, client = api
    project = await a_project(app, status=status)
    problem = assert_problem(await client.post(f"/v1/projects/{project}/assets", json=ASSET, headers=OFFICE), 409)
    assert (problem["code"], problem["project_status"]) == ("project_state", status)
    assert await count(app, ProjectAsset) == 0


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"owner_area_code": "371523105203"}, "owner_outside_township"),
        ({"owner_kind": "township", "owner_area_code": "371523105"}, "owner_outside_township"),
        ({"owner_area_code": TOWNSHIP}, "owner_code_mismatch"),
        ({"owner_kind": "township", "owner_area_code": VILLAGE}, "owner_code_mismatch"),
        ({"registered_on": "2020-07-11"}, "in_future"),
        ({"registered_on": "2020-02-29"}, "before_project_start"),
        ({"agreed_return_bp": 10_001}, "less_than_equal"),
        ({"agreed_return_bp": 8.5}, "int_type"),
        ({"value_fen": 0}, "greater_than"),
        ({"owner_kind": "company"}, "enum"),
        ({"operator": "合作社 11010519491231002X"}, "value_error"),
    ],
)
async def test_a_bad_asset_is_422_and_changes_nothing(api: Any, changes: dict[str, Any], code: str) -> None:
    app, client = api
    project = await a_project(app)
    r = await client.post(f"/v1/projects/{project}/assets", json={**ASSET, **changes}, headers=OFFICE)
    assert code in {e["code"] for e in assert_problem(r, 422)["errors"]}
    assert (await count(app, ProjectAsset), await outbox(app, "gov.poverty.projects.asset_registered.v1")) == (0, [])


async def test_assets_are_registered_by_the_offices_within_reach(api: Any) -> None:
    app, client = api
    project = await a_project(app)
    for headers in (FINANCE, CADRE, auth("township_office", area="371523105")):
        assert (await client.post(f"/v1/projects/{project}/assets", json=ASSET, headers=headers)).status_code == 403
    assert await count(app, ProjectAsset) == 0


async def test_an_asset_retried_with_its_key_is_registered_once(api: Any) -> None:
    app, client = api
    project = await a_project(app)
    key = {**OFFICE, "Idempotency-Key": "asset-greenhouses"}
    first = await client.post(f"/v1/projects/{project}/assets", json=ASSET, headers=key)
    again = await client.post(f"/v1/projects/{project}/assets", json=ASSET, headers=key)
    assert (first.status_code, again.status_code, again.json()) == (201, 200, first.json())
    assert await count(app, ProjectAsset) == 1


# --- income ---------------------------------------------------------------------------------------------------------


async def test_income_is_recorded_per_asset_and_month_with_its_distribution_state(api: Any) -> None:
    app, client = api
    project = await a_project(app, status="accepted")
    greenhouses, plant = await an_asset(client, project), await an_asset(client, project)
    body = {"asset_id": greenhouses, "period": "2020-06", "amount_fen": 100_000, "received_on": "2020-06-30"}
    r = await client.post(f"/v1/projects/{project}/income", json=body, headers=FINANCE)
    assert r.status_code == 201, r.text
    income = r.json()
    assert (income["asset_id"], income["received_on"], income["distribution"]) == (greenhouses, "2020-06-30", None)
    assert (await outbox(app, "gov.poverty.projects.income_recorded.v1"))[-1] == {
        "project_id": project,
        "income_id": income["id"],
        "period": "2020-06",
        "amount_fen": 100_000,
        "asset_id": greenhouses,
    }
    problem = assert_problem(await client.post(f"/v1/projects/{project}/income", json=body, headers=OFFICE), 409)
    assert problem["code"] == "income_recorded"
    other = await client.post(f"/v1/projects/{project}/income", json={**body, "asset_id": plant}, headers=FINANCE)
    assert other.status_code == 201 and other.json()["received_on"] == "2020-06-30"
    no_date = {"asset_id": plant, "period": "2020-05", "amount_fen": 1}
    assert (await client.post(f"/v1/projects/{project}/income", json=no_date, headers=FINANCE)).json()[
        "received_on"
    ] == TODAY.isoformat()
    await enrol(app, Household())
    plan = await prepared(client, income["id"])
    listed = (await client.get(f"/v1/projects/{project}/income", headers=READER)).json()["items"]
    states = {i["id"]: i["distribution"] for i in listed}
    assert states[income["id"]] == {"plan_id": plan["id"], "status": "prepared"}
    assert states[other.json()["id"]] is None


@pytest.mark.parametrize("status", ["planned", "under_construction", "completed", "closed"])
async def test_income_is_recorded_only_for_an_accepted_or_operating_project(api: Any, status: str) -> None:
    app, client = api
    project = await a_project(app)
    asset = await an_asset(client, project)
    async with app.state.sessions() as s, s.begin():
        (await s.get(Project, UUID(project))).status = status
    body = {"asset_id": asset, "period": "2020-06", "amount_fen": 100}
    problem = assert_problem(await client.post(f"/v1/projects/{project}/income", json=body, headers=FINANCE), 409)
    assert problem["code"] == "project_state"
    assert await count(app, ProjectIncome) == 0


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"asset_id": None}, "uuid_type"),
        ({"asset_id": str(uuid4())}, "not_an_asset"),
        ({"asset_id": "other project's"}, "not_an_asset"),
        ({"received_on": "2020-07-11"}, "in_future"),
        ({"period": "2020-08"}, "period_not_begun"),
        ({"period": "2020-02"}, "before_project_start"),
        ({"amount_fen": 100.0}, "int_type"),
    ],
)
async def test_bad_income_is_422_and_changes_nothing(api: Any, changes: dict[str, Any], code: str) -> None:
    app, client = api
    project, other = await a_project(app), await a_project(app)
    asset, others = await an_asset(client, project), await an_asset(client, other)
    body = {"asset_id": asset, "period": "2020-06", "amount_fen": 100, **changes}
    if body["asset_id"] == "other project's":
        body["asset_id"] = others
    r = await client.post(f"/v1/projects/{project}/income", json=body, headers=FINANCE)
    assert code in {e["code"] for e in assert_problem(r, 422)["errors"]}
    assert await count(app, ProjectIncome) == 0

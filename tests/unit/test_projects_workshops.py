"""Workshops API on a migrated SQLite file: workshops and branches with their headcounts, employment of members on
the roll, wages recorded once per employment and month (each published), and a household's wage income."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from services.projects.models import Project, Workshop, WorkshopEmployment, WorkshopWage
from shared.api.clock import request_time
from shared.contracts.households import (
    HouseholdRegistered,
    HouseholdStatus,
    HouseholdStatusChanged,
    MemberAdded,
    MemberDied,
)
from shared.messaging.outbox import OutboxMessage
from tests.support import apply_event, assert_problem, auth, running_app

TOWNSHIP = "371523101"
VILLAGE = "371523101201"
OTHER_TOWNSHIP = "371523105"
NOW = datetime(2020, 6, 20, 4, tzinfo=UTC)  # 2020-06-20 noon in the district
OFFICE = auth("district_office", sub="office-1")
TOWNSHIP_OFFICE = auth("township_office", area=TOWNSHIP, sub="township-1")
FINANCE = auth("finance_officer", sub="finance-1")
WORKSHOP = {
    "name": "同心就业工场",
    "kind": "employment_workshop",
    "area_code": TOWNSHIP,
    "operator": "同心服饰有限公司",
}
WAGE_RECORDED = "gov.poverty.projects.workshop_wages_recorded.v1"


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with running_app("projects", await sqlite_url("projects")) as (app, client):
        app.dependency_overrides[request_time] = lambda: NOW
        yield app, client


async def on_roll(app: Any, *, area_code: str = VILLAGE, members: int = 1) -> tuple[UUID, list[UUID]]:
    """A household on projects' roll with living members, as households' events put it there."""
    household, people = uuid4(), [uuid4() for _ in range(members)]
    await apply_event(
        app, HouseholdRegistered(household_id=household, household_code="H", area_code=area_code, member_count=members)
    )
    for member in people:
        added = MemberAdded(
            household_id=household, member_id=member, relationship_to_head="head", birth_date=date(1980, 1, 1)
        )
        await apply_event(app, added)
    return household, people


async def _count(app: Any, model: Any) -> int:
    async with app.state.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)))


async def _events(app: Any, event_type: str) -> list[dict[str, Any]]:
    async with app.state.sessions() as s:
        rows = await s.scalars(select(OutboxMessage).where(col(OutboxMessage.event_type) == event_type))
        return [json.loads(r.payload) for r in rows.all()]


async def _workshop(client: Any, headers: dict[str, str] = OFFICE, **changes: Any) -> str:
    r = await client.post("/v1/workshops", json={**WORKSHOP, **changes}, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _employ(client: Any, workshop: str, household: UUID, member: UUID, started_on: str = "2020-03-01") -> str:
    body = {
        "household_id": str(household),
        "member_id": str(member),
        "monthly_wage_fen": 180_000,
        "started_on": started_on,
    }
    r = await client.post(f"/v1/workshops/{workshop}/workers", json=body, headers=OFFICE)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_a_workshop_counts_its_workers_and_with_its_branches(api: Any) -> None:
    app, client = api
    parent = await _workshop(client)
    branches = [await _workshop(client, name=f"分厂{i}", parent_id=parent, area_code=VILLAGE) for i in (1, 2)]
    household, members = await on_roll(app, members=7)
    await _employ(client, parent, household, members[0])
    for member in members[1:3]:
        await _employ(client, branches[0], household, member)
    for member in members[3:5]:
        await _employ(client, branches[1], household, member)
    await _employ(client, branches[1], household, members[5], started_on="2020-07-01")  # not employed yet today
    left = await _employ(client, parent, household, members[6])
    r = await client.post(f"/v1/workshops/{parent}/workers/{left}/end", json={"ended_on": "2020-06-19"}, headers=OFFICE)
    assert r.status_code == 200 and r.json()["ended_on"] == "2020-06-19"
    read = (await client.get(f"/v1/workshops/{parent}", headers=auth("auditor"))).json()
    assert (read["workers"], read["branch_count"], read["workers_with_branches"]) == (1, 2, 5)
    listed = (await client.get("/v1/workshops", headers=TOWNSHIP_OFFICE)).json()["items"]
    counts = {w["id"]: (w["workers"], w["branch_count"], w["workers_with_branches"]) for w in listed}
    assert counts == {parent: (1, 2, 5), branches[0]: (2, 0, 2), branches[1]: (2, 0, 2)}
    workers = (await client.get(f"/v1/workshops/{parent}/workers", headers=FINANCE)).json()["items"]
    assert {w["id"]: w["ended_on"] for w in workers}[left] == "2020-06-19" and len(workers) == 2


async def _project(app: Any, area_code: str = VILLAGE) -> str:
    """A project in the stock, put there directly: the workshop only names it."""
    project = Project(
        project_code=f"XM-{uuid4().hex[:8]}", name="大棚", kind="greenhouse", area_code=area_code, budget_fen=1,
        started_on=date(2020, 3, 1), registered_at=NOW,
    )  # fmt: skip
    async with app.state.sessions() as s, s.begin():
        s.add(project)
    return str(project.id)


async def test_workshops_are_registered_within_reach_of_a_known_project_and_workshop(api: Any) -> None:
    app, client = api
    parent = await _workshop(client, TOWNSHIP_OFFICE, project_id=await _project(app))
    branch = await _workshop(client, parent_id=parent)
    other_office = auth("township_office", area=OTHER_TOWNSHIP)
    elsewhere = {**WORKSHOP, "area_code": OTHER_TOWNSHIP}
    refusals = [
        ({**WORKSHOP, "project_id": str(uuid4())}, OFFICE, 422, "unknown_project"),
        ({**WORKSHOP, "parent_id": str(uuid4())}, OFFICE, 422, "unknown_workshop"),
        ({**WORKSHOP, "parent_id": branch}, OFFICE, 422, "branch_of_branch"),
        (elsewhere, TOWNSHIP_OFFICE, 403, None),
        ({**elsewhere, "parent_id": parent}, other_office, 403, None),  # a branch of another township's workshop
        ({**elsewhere, "project_id": await _project(app)}, other_office, 403, None),  # of another township's project
        (WORKSHOP, FINANCE, 403, None),
    ]
    for body, headers, status, code in refusals:
        problem = assert_problem(await client.post("/v1/workshops", json=body, headers=headers), status)
        assert code is None or [e["code"] for e in problem["errors"]] == [code]
    assert await _count(app, Workshop) == 2
    assert_problem(await client.get(f"/v1/workshops/{parent}", headers=auth("village_cadre", area="371523105203")), 403)
    assert_problem(await client.get(f"/v1/workshops/{uuid4()}", headers=OFFICE), 404)
    own = await _workshop(client, other_office, **elsewhere)
    listed = (await client.get("/v1/workshops", headers=other_office)).json()["items"]
    assert [w["id"] for w in listed] == [own]


async def test_only_living_members_on_the_roll_are_employed_and_once_at_a_time(api: Any) -> None:
    app, client = api
    workshop = await _workshop(client)
    household, [member, other] = await on_roll(app, members=2)
    stranger, [theirs] = await on_roll(app)
    await apply_event(app, MemberDied(household_id=household, member_id=other, died_on=date(2020, 5, 1)))
    for who in [(household, uuid4()), (uuid4(), member), (stranger, member), (household, theirs), (household, other)]:
        body = {
            "household_id": str(who[0]),
            "member_id": str(who[1]),
            "monthly_wage_fen": 1,
            "started_on": "2020-06-01",
        }
        problem = assert_problem(await client.post(f"/v1/workshops/{workshop}/workers", json=body, headers=OFFICE), 409)
        assert problem["code"] == "not_on_roll"
    employment = await _employ(client, workshop, household, member)
    again = {
        "household_id": str(household),
        "member_id": str(member),
        "monthly_wage_fen": 1,
        "started_on": "2020-06-01",
    }
    problem = assert_problem(await client.post(f"/v1/workshops/{workshop}/workers", json=again, headers=OFFICE), 409)
    assert problem["code"] == "already_employed"
    end = f"/v1/workshops/{workshop}/workers/{employment}/end"
    for day, code in [("2020-02-28", "ends_before_start"), ("2020-06-21", "end_in_future")]:
        problem = assert_problem(await client.post(end, json={"ended_on": day}, headers=OFFICE), 422)
        assert [e["code"] for e in problem["errors"]] == [code]
    assert (await client.post(end, json={"ended_on": "2020-05-31"}, headers=OFFICE)).status_code == 200
    assert_problem(await client.post(end, json={"ended_on": "2020-05-31"}, headers=OFFICE), 409)
    rehired = await _employ(client, workshop, household, member, started_on="2020-06-01")  # after the last day
    assert rehired != employment
    assert await _count(app, WorkshopEmployment) == 2


async def test_a_township_office_employs_only_entitled_members_of_households_within_its_reach(api: Any) -> None:
    app, client = api
    workshop = await _workshop(client, TOWNSHIP_OFFICE)
    far, [far_member] = await on_roll(app, area_code="371523105203")  # another township's household
    exited, [exited_member] = await on_roll(app)
    changed = HouseholdStatusChanged(
        household_id=exited, area_code=VILLAGE, from_status=HouseholdStatus.IN_POVERTY,
        to_status=HouseholdStatus.EXITED_NO_POLICIES, reason="officer_decision", effective_on=date(2020, 5, 1),
        changed_by="office-1",
    )  # fmt: skip
    await apply_event(app, changed)

    def hire(household: UUID, member: UUID) -> dict[str, Any]:
        return {"household_id": str(household), "member_id": str(member), "monthly_wage_fen": 9_000_000,
                "started_on": "2020-06-01"}  # fmt: skip

    workers = f"/v1/workshops/{workshop}/workers"
    assert_problem(await client.post(workers, json=hire(far, far_member), headers=TOWNSHIP_OFFICE), 403)
    for headers in (TOWNSHIP_OFFICE, OFFICE):
        refused = await client.post(workers, json=hire(exited, exited_member), headers=headers)
        assert assert_problem(refused, 409)["code"] == "not_entitled"
    assert await _count(app, WorkshopEmployment) == 0
    assert (await client.post(workers, json=hire(far, far_member), headers=OFFICE)).status_code == 201  # district-wide


async def test_wages_are_recorded_once_per_employment_and_month_and_published(api: Any) -> None:
    app, client = api
    workshop = await _workshop(client)
    household, [a, b] = await on_roll(app, members=2)
    first, second = await _employ(client, workshop, household, a), await _employ(client, workshop, household, b)
    body = {"period": "2020-06", "lines": [{"employment_id": first, "amount_fen": 180_000},
                                          {"employment_id": second, "amount_fen": 150_001}]}  # fmt: skip
    r = await client.post(f"/v1/workshops/{workshop}/wages", json=body, headers=TOWNSHIP_OFFICE)
    assert r.status_code == 201, r.text
    assert r.json()["total_fen"] == 330_001 and [w["employment_id"] for w in r.json()["wages"]] == [first, second]
    published = await _events(app, WAGE_RECORDED)
    assert sorted((e["member_id"], e["amount_fen"], e["period"]) for e in published) == sorted(
        [(str(a), 180_000, "2020-06"), (str(b), 150_001, "2020-06")]
    )
    assert {e["wage_id"] for e in published} == {w["id"] for w in r.json()["wages"]}
    again = {"period": "2020-06", "lines": [{"employment_id": second, "amount_fen": 1}]}
    problem = assert_problem(await client.post(f"/v1/workshops/{workshop}/wages", json=again, headers=FINANCE), 409)
    assert problem["code"] == "wage_recorded" and problem["employment_ids"] == [second]
    assert await _count(app, WorkshopWage) == 2 and len(await _events(app, WAGE_RECORDED)) == 2
    page = (await client.get(f"/v1/workshops/{workshop}/wages", params={"period": "2020-06"}, headers=OFFICE)).json()
    assert page["total_fen"] == 330_001 and len(page["items"]) == 2
    everything = (await client.get(f"/v1/workshops/{workshop}/wages", headers=OFFICE)).json()
    assert everything["total_fen"] is None and len(everything["items"]) == 2
    end = f"/v1/workshops/{workshop}/workers/{first}/end"
    problem = assert_problem(await client.post(end, json={"ended_on": "2020-05-31"}, headers=OFFICE), 409)
    assert problem["code"] == "wage_recorded"  # its June wage is recorded
    income = (await client.get(f"/v1/households/{household}/wages", headers=OFFICE)).json()["items"]
    assert sorted((i["source"], i["amount_fen"], i["status"]) for i in income) == [
        ("workshop_wage", 150_001, "paid"),
        ("workshop_wage", 180_000, "paid"),
    ]


async def test_wages_for_no_employment_of_the_month_are_refused_and_change_nothing(api: Any) -> None:
    app, client = api
    workshop, elsewhere = await _workshop(client), await _workshop(client, name="扶贫车间", kind="poverty_workshop")
    household, [a, b, c] = await on_roll(app, members=3)
    live = await _employ(client, workshop, household, a)
    later = await _employ(client, workshop, household, b, started_on="2020-07-01")
    theirs = await _employ(client, elsewhere, household, c)
    lines = [{"employment_id": e, "amount_fen": 100} for e in (live, later, theirs, str(uuid4()))]
    problem = assert_problem(
        await client.post(
            f"/v1/workshops/{workshop}/wages", json={"period": "2020-06", "lines": lines}, headers=FINANCE
        ),
        422,
    )
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [
        ("body.lines.1.employment_id", "not_employed_in_period"),
        ("body.lines.2.employment_id", "unknown_employment"),
        ("body.lines.3.employment_id", "unknown_employment"),
    ]
    cases = [
        ({"period": "2020-07", "lines": lines[:1]}, FINANCE, 422, "period_not_begun"),
        ({"period": "2020-06", "lines": [lines[0], lines[0]]}, FINANCE, 422, "repeated_employment"),
        ({"period": "2020-06", "lines": []}, FINANCE, 422, "too_short"),
        ({"period": "2020-06", "lines": [{**lines[0], "amount_fen": 0}]}, FINANCE, 422, "greater_than"),
        ({"period": "2020-06", "lines": lines[:1]}, OFFICE, 403, None),  # wages are finance's and the township's
        ({"period": "2020-06", "lines": lines[:1]}, auth("township_office", area=OTHER_TOWNSHIP), 403, None),
    ]
    for body, headers, status, code in cases:
        problem = assert_problem(
            await client.post(f"/v1/workshops/{workshop}/wages", json=body, headers=headers), status
        )
        assert code is None or [e["code"] for e in problem["errors"]] == [code]
    assert await _count(app, WorkshopWage) == 0 and await _events(app, WAGE_RECORDED) == []


async def test_a_retried_wage_request_answers_the_first_result(api: Any) -> None:
    app, client = api
    workshop = await _workshop(client)
    household, [a] = await on_roll(app)
    body = {
        "period": "2020-06",
        "lines": [{"employment_id": await _employ(client, workshop, household, a), "amount_fen": 9}],
    }
    headers = {**FINANCE, "Idempotency-Key": "wages-2020-06"}
    first = await client.post(f"/v1/workshops/{workshop}/wages", json=body, headers=headers)
    again = await client.post(f"/v1/workshops/{workshop}/wages", json=body, headers=headers)
    assert (first.status_code, again.status_code, again.headers["Idempotency-Replayed"]) == (201, 200, "true")
    assert again.json() == first.json() and len(await _events(app, WAGE_RECORDED)) == 1

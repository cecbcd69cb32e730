"""A member's death (死亡注销): recorded once, by the registrars or civil affairs, over the API or as department
data; the member is kept and no longer counts in the per-capita income, the exit assessment, gaps and figures.
And how a member is announced: `MemberAdded` with the name and the ID-card number masked."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select
from sqlmodel import col

from services.households.models import HouseholdChange, Member
from services.households.rules.members import mask_name
from shared.api.clock import request_time
from tests.support import assert_problem, auth
from tests.unit.test_households_helpers import (
    OFFICE,
    VILLAGE,
    event_types,
    household,
    households_app,
    make_id,
    member,
    outbox,
    register,
)

TODAY = date(2020, 12, 1)
MOMENT = datetime(2020, 12, 1, 4, tzinfo=UTC)
HEAD_BORN, SPOUSE_BORN = date(1960, 3, 1), date(1962, 7, 9)
DEATH = {"died_on": "2020-06-03", "source": "公安户籍注销"}
CIVIL_AFFAIRS = auth("dept_civil_affairs", sub="civil-affairs")
DIED = "gov.poverty.households.member_died.v1"


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    """The app on 1 December 2020."""
    async with households_app(sqlite_url) as (app, client):
        app.dependency_overrides[request_time] = lambda: MOMENT
        yield app, client


async def couple(client: Any, code: str = "DE-1", seq: int = 1) -> tuple[str, dict[str, str]]:
    """A household of two registered (the spouse without medical cover); its id and its members' ids by
    relationship."""
    body = household(
        code,
        VILLAGE,
        member("张三", "head", HEAD_BORN, seq=seq, medical_insured=True),
        member("李四", "spouse", SPOUSE_BORN, seq=seq + 1, medical_insured=False),
    )
    registered = await register(client, body)
    return registered["id"], {m["relationship_to_head"]: m["id"] for m in registered["members"]}


def death_of(hid: str, mid: str) -> str:
    return f"/v1/households/{hid}/members/{mid}/death"


@pytest.mark.parametrize(("name", "masked"), [("张三丰", "张*丰"), ("欧阳小明", "欧*明"), ("李四", "李*"), ("王", "*")])
def test_a_name_is_masked_as_a_public_notice_shows_it(name: str, masked: str) -> None:
    assert mask_name(name) == masked


async def test_a_death_is_recorded_published_and_the_member_kept(api: Any) -> None:
    app, client = api
    hid, ids = await couple(client)
    r = await client.post(death_of(hid, ids["spouse"]), json=DEATH, headers=OFFICE)
    assert r.status_code == 201, r.text
    assert r.json() == {"household_id": hid, "member_id": ids["spouse"], **DEATH}
    rows = await outbox(app)
    [event] = [json.loads(row.payload) for row in rows if row.event_type == DIED]
    assert event == {"household_id": hid, "member_id": ids["spouse"], "died_on": "2020-06-03"}
    members = {m["id"]: m for m in (await client.get(f"/v1/households/{hid}", headers=OFFICE)).json()["members"]}
    assert (members[ids["spouse"]]["died_on"], members[ids["spouse"]]["death_source"]) == ("2020-06-03", "公安户籍注销")
    assert members[ids["head"]]["died_on"] is None
    async with app.state.sessions() as s:
        [note] = (await s.scalars(select(HouseholdChange).where(col(HouseholdChange.action) == "member.died"))).all()
    assert json.loads(note.changes) == {"member_id": ids["spouse"], "died_on": "2020-06-03", "source": "公安户籍注销"}


async def test_a_second_death_record_is_a_conflict_and_changes_nothing(api: Any) -> None:
    app, client = api
    hid, ids = await couple(client)
    assert (await client.post(death_of(hid, ids["spouse"]), json=DEATH, headers=OFFICE)).status_code == 201
    before = await event_types(app)
    again = {"died_on": "2020-07-01", "source": "民政殡葬"}
    assert_problem(await client.post(death_of(hid, ids["spouse"]), json=again, headers=OFFICE), 409)
    assert await event_types(app) == before
    async with app.state.sessions() as s:
        spouse = await s.get(Member, UUID(ids["spouse"]))
    assert spouse is not None and (spouse.died_on, spouse.death_source) == (date(2020, 6, 3), "公安户籍注销")


async def test_a_retried_death_with_its_key_answers_the_first_record(api: Any) -> None:
    app, client = api
    hid, ids = await couple(client)
    headers = {**OFFICE, "Idempotency-Key": "death-1"}
    first = await client.post(death_of(hid, ids["spouse"]), json=DEATH, headers=headers)
    again = await client.post(death_of(hid, ids["spouse"]), json=DEATH, headers=headers)
    assert (first.status_code, again.status_code, again.headers["Idempotency-Replayed"]) == (201, 200, "true")
    assert again.json() == first.json() and (await event_types(app)).count(DIED) == 1


@pytest.mark.parametrize(
    ("died_on", "code"),
    [(TODAY + timedelta(days=1), "date_in_future"), (SPOUSE_BORN - timedelta(days=1), "before_birth")],
)
async def test_a_death_after_today_or_before_birth_is_refused_and_changes_nothing(
    api: Any, died_on: date, code: str
) -> None:
    app, client = api
    hid, ids = await couple(client)
    before = await event_types(app)
    r = await client.post(death_of(hid, ids["spouse"]), json={**DEATH, "died_on": died_on.isoformat()}, headers=OFFICE)
    assert [(e["field"], e["code"]) for e in assert_problem(r, 422)["errors"]] == [("body.died_on", code)]
    assert await event_types(app) == before
    async with app.state.sessions() as s:
        spouse = await s.get(Member, UUID(ids["spouse"]))
    assert spouse is not None and spouse.died_on is None


@pytest.mark.parametrize(
    "body",
    [
        {"died_on": "2020-06-03"},
        {"died_on": "2020-06-03", "source": ""},
        {"died_on": "2020-06-03", "source": "核对 371523196207090052"},  # an ID-card number is no source
        {"died_on": 1591142400, "source": "民政殡葬"},
        {"died_on": "2020-06-03", "source": "民政殡葬", "cause": "x"},
    ],
)
async def test_a_malformed_death_is_refused(api: Any, body: dict[str, Any]) -> None:
    app, client = api
    hid, ids = await couple(client)
    before = await event_types(app)
    assert_problem(await client.post(death_of(hid, ids["spouse"]), json=body, headers=OFFICE), 422)
    assert await event_types(app) == before


async def test_civil_affairs_and_the_registrars_in_their_area_may_record_a_death(api: Any) -> None:
    _, client = api
    hid, ids = await couple(client)
    for headers in (
        auth("helper_cadre", area=VILLAGE),
        auth("dept_health"),
        auth("auditor"),
        auth("township_office", area="371523105"),
    ):
        assert_problem(await client.post(death_of(hid, ids["spouse"]), json=DEATH, headers=headers), 403)
    assert (await client.post(death_of(hid, ids["spouse"]), json=DEATH, headers=CIVIL_AFFAIRS)).status_code == 201
    village = auth("village_cadre", area=VILLAGE)
    assert (await client.post(death_of(hid, ids["head"]), json=DEATH, headers=village)).status_code == 201


async def test_a_death_names_a_member_of_the_household(api: Any) -> None:
    _, client = api
    hid, ids = await couple(client)
    other, _ = await couple(client, "DE-2", seq=11)
    assert_problem(await client.post(death_of(other, ids["spouse"]), json=DEATH, headers=OFFICE), 404)
    assert_problem(await client.post(death_of(hid, str(uuid4())), json=DEATH, headers=OFFICE), 404)
    assert_problem(await client.post(death_of(str(uuid4()), ids["spouse"]), json=DEATH, headers=OFFICE), 404)


async def test_the_dead_no_longer_count_in_the_per_capita_income(api: Any) -> None:
    _, client = api
    hid, ids = await couple(client)
    record = {"year": 2020, "source": "wages", "amount_fen": 800_000}
    assert (await client.post(f"/v1/households/{hid}/income-records", json=record, headers=OFFICE)).status_code == 201
    summary = (await client.get(f"/v1/households/{hid}/income", headers=OFFICE)).json()
    assert (summary["member_count"], summary["per_capita_income_fen"]) == (2, 400_000)
    await client.post(death_of(hid, ids["spouse"]), json=DEATH, headers=OFFICE)
    summary = (await client.get(f"/v1/households/{hid}/income", headers=OFFICE)).json()
    assert (summary["member_count"], summary["per_capita_income_fen"]) == (1, 800_000)
    # A year before the death still divides among both.
    record = {"year": 2019, "source": "wages", "amount_fen": 800_000}
    await client.post(f"/v1/households/{hid}/income-records", json=record, headers=OFFICE)
    earlier = (await client.get(f"/v1/households/{hid}/income?year=2019", headers=OFFICE)).json()
    assert (earlier["member_count"], earlier["per_capita_income_fen"]) == (2, 400_000)


async def test_the_exit_assessment_no_longer_counts_the_dead(api: Any) -> None:
    _, client = api
    hid, ids = await couple(client)
    line = {"line_fen": 450_000, "monitoring_margin_fen": 0}
    assert (await client.put("/v1/poverty-lines/2020", json=line, headers=OFFICE)).status_code == 200
    await client.post(
        f"/v1/households/{hid}/income-records",
        json={"year": 2020, "source": "wages", "amount_fen": 800_000},
        headers=OFFICE,
    )
    before = (await client.get(f"/v1/households/{hid}/assessment", headers=OFFICE)).json()
    codes = {(g["code"], g["member_id"]) for g in before["gaps"]}
    assert {("income_below_line", None), ("no_medical_insurance", ids["spouse"])} <= codes
    await client.post(death_of(hid, ids["spouse"]), json=DEATH, headers=OFFICE)
    after = (await client.get(f"/v1/households/{hid}/assessment", headers=OFFICE)).json()
    assert (after["member_count"], after["per_capita_income_fen"]) == (1, 800_000)
    assert not {"income_below_line", "no_medical_insurance"} & {g["code"] for g in after["gaps"]}


async def test_lists_and_figures_no_longer_count_the_dead(api: Any) -> None:
    _, client = api
    hid, ids = await couple(client)
    listed = (await client.get("/v1/households?gap=medical", headers=OFFICE)).json()["items"]
    assert [h["id"] for h in listed] == [hid]
    await client.post(death_of(hid, ids["spouse"]), json=DEATH, headers=OFFICE)
    assert (await client.get("/v1/households?gap=medical", headers=OFFICE)).json()["items"] == []
    total = (await client.get("/v1/statistics?year=2020", headers=OFFICE)).json()["total"]
    assert (total["people"], total["gaps"].get("medical", 0)) == (1, 0)


async def test_civil_affairs_reports_deaths_as_department_data(api: Any) -> None:
    app, client = api
    _, ids = await couple(client)
    row = {"id_number": make_id(SPOUSE_BORN, 2), "died_on": "2020-06-03", "source": "民政殡葬"}
    rows = {"rows": [row, {"member_id": ids["head"], "died_on": "1959-01-01", "source": "民政殡葬"}]}
    r = await client.post("/v1/department-data/death", json=rows, headers={**CIVIL_AFFAIRS, "Idempotency-Key": "d-1"})
    assert r.status_code == 201, r.text
    report = r.json()
    assert (report["applied_count"], [(e["row"], e["code"]) for e in report["errors"]]) == (1, [(1, "invalid-input")])
    # The month's list sent again: the death recorded already is no error; another date for it is.
    again = {"rows": [row, {**row, "died_on": "2020-06-04"}]}
    r = await client.post("/v1/department-data/death", json=again, headers={**CIVIL_AFFAIRS, "Idempotency-Key": "d-2"})
    assert [(e["row"], e["code"]) for e in r.json()["errors"]] == [(1, "conflict")]
    assert (await event_types(app)).count(DIED) == 1
    forbidden = await client.post("/v1/department-data/death", json=rows, headers={**OFFICE, "Idempotency-Key": "d-3"})
    assert_problem(forbidden, 403)


async def test_an_added_member_is_announced_masked(api: Any) -> None:
    app, client = api
    hid, _ = await couple(client)
    child = member("张小明", "son", date(2010, 5, 1), seq=3)
    r = await client.post(f"/v1/households/{hid}/members", json=child, headers=OFFICE)
    assert r.status_code == 201, r.text
    added = [json.loads(row.payload) for row in await outbox(app) if row.event_type.endswith(".member_added.v1")]
    assert [(a["name_masked"], a["id_masked"]) for a in added] == [
        ("张*", f"3715**********{make_id(HEAD_BORN, 1)[-4:]}"),
        ("李*", f"3715**********{make_id(SPOUSE_BORN, 2)[-4:]}"),
        ("张*明", f"3715**********{make_id(date(2010, 5, 1), 3)[-4:]}"),
    ]
    assert not any(name in row.payload for row in await outbox(app) for name in ("张三", "李四", "张小明"))

"""Members and ID-card numbers over HTTP: sealed at rest, masked in responses, revealed only with a recorded
reason, never in a log line, an event or an error body; duplicates across households refused."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select

from services.households.models import Household, HouseholdChange, IdCardReveal, Member
from shared.api.clock import request_time
from shared.messaging.outbox import OutboxMessage
from tests.support import assert_problem, auth
from tests.unit.test_households_helpers import (
    OFFICE,
    OTHER_TOWNSHIP_VILLAGE,
    VILLAGE,
    count,
    event_types,
    household,
    households_app,
    make_id,
    member,
    outbox,
    register,
)

HEAD_BORN, CHILD_BORN = date(1960, 3, 1), date(2010, 9, 1)
HEAD_ID, CHILD_ID = make_id(HEAD_BORN, 1), make_id(CHILD_BORN, 2)
REASON = {"reason": "纪委核查低保资格, 需核对身份证号"}


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with households_app(sqlite_url) as running:
        yield running


def family(code: str = "CP-0001", area: str = VILLAGE) -> dict[str, Any]:
    return household(
        code,
        area,
        member("张三", "head", HEAD_BORN, seq=1, medical_insured=True),
        member("张小明", "son", CHILD_BORN, seq=2, enrolment="enrolled", school_stage="primary"),
    )


async def test_registration_seals_the_numbers_and_shows_them_masked(api: Any, caplog: pytest.LogCaptureFixture) -> None:
    app, client = api
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # the SQL and its parameters, too
    try:
        r = await client.post("/v1/households", json=family(), headers=OFFICE)
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    assert r.status_code == 201, r.text
    masked = sorted(m["id_number_masked"] for m in r.json()["members"])
    assert masked == sorted([f"3715**********{HEAD_ID[-4:]}", f"3715**********{CHILD_ID[-4:]}"])
    assert HEAD_ID not in r.text and CHILD_ID not in r.text
    async with app.state.sessions() as s:
        stored = (await s.scalars(select(Member))).all()
        changes = (await s.scalars(select(HouseholdChange.changes))).all()
    assert all(m.id_ciphertext and HEAD_ID.encode() not in m.id_ciphertext for m in stored)
    assert all(m.id_hash and len(m.id_hash) == 64 and m.id_kid == "dev-1" for m in stored)
    assert not any(HEAD_ID in c for c in changes)
    assert not any(HEAD_ID in row.payload or CHILD_ID in row.payload for row in await outbox(app))
    assert "sqlalchemy.engine" in {rec.name.rsplit(".", 1)[0] for rec in caplog.records}  # logging did happen
    assert HEAD_ID not in caplog.text and CHILD_ID not in caplog.text


@pytest.mark.parametrize(
    ("id_number", "why"),
    [
        (HEAD_ID[:17] + ("0" if HEAD_ID[17] != "0" else "1"), "check digit"),
        ("371523196002300018", "real date"),
        ("12345", "17 digits"),
    ],
)
async def test_an_invalid_number_is_a_422_that_never_echoes_it(api: Any, id_number: str, why: str) -> None:
    app, client = api
    body = household("CP-0001", VILLAGE, {**member("张三", "head", HEAD_BORN), "id_number": id_number})
    r = await client.post("/v1/households", json=body, headers=OFFICE)
    problem = assert_problem(r, 422)
    assert id_number not in r.text
    assert [e["field"] for e in problem["errors"]] == ["body.members.0.id_number"]
    assert why in problem["errors"][0]["message"]
    assert await count(app, Household) == 0 and await count(app, OutboxMessage) == 0


async def test_a_birth_date_that_disagrees_with_the_number_is_refused(api: Any) -> None:
    app, client = api
    body = household("CP-0001", VILLAGE, {**member("张三", "head", date(1961, 3, 1)), "id_number": HEAD_ID})
    r = await client.post("/v1/households", json=body, headers=OFFICE)
    assert "birth date" in assert_problem(r, 422)["detail"]
    assert await count(app, Household) == 0


async def test_the_same_number_in_another_household_is_a_409_that_changes_nothing(api: Any) -> None:
    app, client = api
    await register(client, family("CP-0001"))
    before = len(await outbox(app))
    again = household("CP-0002", VILLAGE, member("张三", "head", HEAD_BORN, seq=1))
    r = await client.post("/v1/households", json=again, headers=OFFICE)
    assert_problem(r, 409)
    assert HEAD_ID not in r.text
    assert await count(app, Household) == 1 and await count(app, Member) == 2
    assert len(await outbox(app)) == before


async def test_a_registration_under_a_taken_code_says_nothing_of_its_numbers(api: Any) -> None:
    _, client = api
    await register(client, family("CP-0001"))
    await register(client, household("CP-0002", VILLAGE, member("李四", "head", date(1970, 1, 2), seq=7)))
    registered_elsewhere = household("CP-0002", VILLAGE, member("张三", "head", HEAD_BORN, seq=1))
    unregistered = household("CP-0002", VILLAGE, member("王五", "head", date(1980, 5, 6), seq=8))
    details = [
        assert_problem(await client.post("/v1/households", json=body, headers=OFFICE), 409)["detail"]
        for body in (registered_elsewhere, unregistered)
    ]
    assert details[0] == details[1] and "household code" in details[0]


async def test_the_same_number_typed_in_full_width_is_the_same_number(api: Any) -> None:
    app, client = api
    await register(client, family("CP-0001"))
    full_width = HEAD_ID.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    again = household("CP-0002", VILLAGE, {**member("张三", "head", HEAD_BORN), "id_number": full_width})
    assert_problem(await client.post("/v1/households", json=again, headers=OFFICE), 409)
    assert await count(app, Household) == 1


async def test_the_same_number_twice_in_one_request_is_refused(api: Any) -> None:
    app, client = api
    body = household(
        "CP-0001", VILLAGE, member("张三", "head", HEAD_BORN, seq=1), member("张三", "x", HEAD_BORN, seq=1)
    )
    r = await client.post("/v1/households", json=body, headers=OFFICE)
    assert_problem(r, 422)
    assert HEAD_ID not in r.text and await count(app, Household) == 0


async def test_an_unknown_area_is_a_422(api: Any) -> None:
    app, client = api
    r = await client.post("/v1/households", json=family(area="371523999201"), headers=OFFICE)
    assert "area" in assert_problem(r, 422)["detail"]
    assert await count(app, Household) == 0


async def test_reveal_returns_the_number_and_records_who_and_why(api: Any) -> None:
    app, client = api
    hid = (await register(client, family()))["id"]
    async with app.state.sessions() as s:
        head = (await s.scalars(select(Member).where(Member.name == "张三"))).one()
    url = f"/v1/households/{hid}/members/{head.id}/id-number/reveal"
    r = await client.post(url, json=REASON, headers=auth("discipline_commission", sub="jiwei-7"))
    assert r.status_code == 200, r.text
    assert r.json()["id_number"] == HEAD_ID and r.headers["cache-control"] == "no-store"
    log = await client.get(f"/v1/households/{hid}/id-number-reveals", headers=auth("auditor"))
    assert [(e["revealed_by"], e["reason"]) for e in log.json()["items"]] == [("jiwei-7", REASON["reason"])]
    revealed = [row for row in await outbox(app) if row.event_type.endswith("id_card_revealed.v1")]
    assert len(revealed) == 1 and HEAD_ID not in revealed[0].payload and "jiwei-7" in revealed[0].payload


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (auth("helper_cadre", area=VILLAGE), 403),
        (auth("auditor"), 403),
        (auth("dept_civil_affairs"), 403),
        (auth("township_office", area="371523105"), 403),  # another township
    ],
)
async def test_reveal_is_refused_to_others_and_leaves_no_trace(api: Any, headers: dict[str, str], status: int) -> None:
    app, client = api
    hid = (await register(client, family()))["id"]
    mid = (await client.get(f"/v1/households/{hid}", headers=OFFICE)).json()["members"][0]["id"]
    r = await client.post(f"/v1/households/{hid}/members/{mid}/id-number/reveal", json=REASON, headers=headers)
    assert_problem(r, status)
    assert HEAD_ID not in r.text and CHILD_ID not in r.text
    assert await count(app, IdCardReveal) == 0


async def test_a_reason_holding_an_id_number_is_refused(api: Any) -> None:
    app, client = api
    hid = (await register(client, family()))["id"]
    mid = (await client.get(f"/v1/households/{hid}", headers=OFFICE)).json()["members"][0]["id"]
    r = await client.post(
        f"/v1/households/{hid}/members/{mid}/id-number/reveal", json={"reason": f"核对 {HEAD_ID}"}, headers=OFFICE
    )
    assert_problem(r, 422)
    assert HEAD_ID not in r.text and await count(app, IdCardReveal) == 0


@pytest.mark.parametrize("field", ["name", "relationship_to_head", "chronic_disease", "school_name"])
async def test_a_members_text_holding_an_id_number_is_refused_and_never_echoed(api: Any, field: str) -> None:
    app, client = api
    hid = (await register(client, family()))["id"]
    mid = (await client.get(f"/v1/households/{hid}", headers=OFFICE)).json()["members"][0]["id"]
    before = len(await outbox(app))
    added = await client.post(
        f"/v1/households/{hid}/members",
        json={**member("李四", "spouse", date(1962, 7, 9)), field: HEAD_ID},
        headers=OFFICE,
    )
    changed = await client.patch(f"/v1/households/{hid}/members/{mid}", json={field: HEAD_ID}, headers=OFFICE)
    for r in (added, changed):
        assert [e["field"] for e in assert_problem(r, 422)["errors"]] == [f"body.{field}"]
        assert HEAD_ID not in r.text
    assert await count(app, Member) == 2 and len(await outbox(app)) == before


async def test_search_by_number_goes_in_the_body_and_respects_the_area(api: Any) -> None:
    _, client = api
    hid = (await register(client, family()))["id"]
    found = await client.post("/v1/households/search", json={"id_number": CHILD_ID}, headers=OFFICE)
    assert found.json()["household"]["id"] == hid
    elsewhere = auth("township_office", area="371523105")
    outside = await client.post("/v1/households/search", json={"id_number": CHILD_ID}, headers=elsewhere)
    assert outside.json() == {"household": None}  # as for a number nobody holds
    missing = await client.post("/v1/households/search", json={"id_number": make_id(seq=99)}, headers=OFFICE)
    assert missing.json() == {"household": None}
    bad = await client.post("/v1/households/search", json={"id_number": CHILD_ID[:-1] + "Z"}, headers=OFFICE)
    assert_problem(bad, 422)
    assert CHILD_ID[:-1] not in bad.text


async def test_dates_after_the_request_day_are_refused_by_field(api: Any) -> None:
    app, client = api
    app.dependency_overrides[request_time] = lambda: datetime(2020, 6, 30, 4, tzinfo=UTC)
    try:
        born_late = member("王小宝", "son", date(2020, 7, 1), seq=8)
        r = await client.post("/v1/households", json=household("CP-0101", VILLAGE, born_late), headers=OFFICE)
        assert [e["field"] for e in assert_problem(r, 422)["errors"]] == ["body.members.0.birth_date"]
        search = {"id_number": make_id(date(2020, 7, 1), 9)}
        r = await client.post("/v1/households/search", json=search, headers=OFFICE)
        assert [e["field"] for e in assert_problem(r, 422)["errors"]] == ["body.id_number"]
        assert search["id_number"] not in r.text
    finally:
        app.dependency_overrides.clear()
    assert await count(app, Member) == 0


@pytest.mark.parametrize("role", ["helper_cadre", "inspector", "auditor", "service"])
async def test_search_is_for_those_who_may_see_full_numbers(
    api: Any, role: str, caplog: pytest.LogCaptureFixture
) -> None:
    _, client = api
    await register(client, family())
    # A hit would confirm a number guessed from the masked form and the birth date, which every reader sees.
    found = await client.post("/v1/households/search", json={"id_number": CHILD_ID}, headers=auth(role, area=VILLAGE))
    assert_problem(found, 403)
    with caplog.at_level(logging.INFO, logger="services.households.api.households"):
        await client.post("/v1/households/search", json={"id_number": CHILD_ID}, headers=OFFICE)
    [searched] = [r for r in caplog.records if r.getMessage() == "ID-card number search"]
    assert (searched.__dict__["actor"], searched.__dict__["found"]) == ("officer-1", 1)
    assert CHILD_ID not in caplog.text


async def test_adding_and_changing_members_is_recorded_in_the_history(api: Any) -> None:
    app, client = api
    hid = (await register(client, family()))["id"]
    wife_born = date(1962, 7, 9)
    r = await client.post(f"/v1/households/{hid}/members", json=member("李四", "spouse", wife_born), headers=OFFICE)
    assert r.status_code == 201, r.text
    mid = r.json()["id"]
    wife_id = make_id(wife_born, 3)
    change = {"id_number": wife_id, "disability_type": "physical", "disability_grade": 2,
              "disability_certified_on": "2020-04-01", "medical_insured": True}  # fmt: skip
    r = await client.patch(f"/v1/households/{hid}/members/{mid}", json=change, headers=OFFICE)
    assert r.status_code == 200, r.text
    assert r.json()["id_number_masked"] == f"3715**********{wife_id[-4:]}" and wife_id not in r.text
    page = (await client.get(f"/v1/households/{hid}/history", headers=OFFICE)).json()
    actions = [c["action"] for c in page["items"]]
    assert actions[:2] == ["household.registered", "member.added"]
    updated = next(c for c in page["items"] if c["action"] == "member.updated")
    assert updated["changes"]["id_number"] == [None, f"3715**********{wife_id[-4:]}"]
    assert updated["changes"]["disability_grade"] == [None, 2]
    types = await event_types(app)
    assert "gov.poverty.households.member_disability_recorded.v1" in types
    assert "gov.poverty.households.risk_flag_raised.v1" in types  # a new disability flags relapse risk
    assert not any(wife_id in row.payload for row in await outbox(app))


async def test_member_changes_that_break_a_rule_change_nothing(api: Any) -> None:
    app, client = api
    hid = (await register(client, family()))["id"]
    mid = (await client.get(f"/v1/households/{hid}", headers=OFFICE)).json()["members"][0]["id"]
    before = len(await outbox(app))
    for body, status in [
        ({"disability_type": "visual"}, 422),  # without grade and certificate
        ({"medical_insured": None}, 422),  # cannot be cleared
        ({"birth_date": "1961-01-01"}, 422),  # disagrees with the stored number
        ({"id_number": CHILD_ID}, 422),  # the child's number: wrong birth date
        ({"birth_date": "2010-02-30"}, 422),  # no such day
    ]:
        assert_problem(await client.patch(f"/v1/households/{hid}/members/{mid}", json=body, headers=OFFICE), status)
    async with app.state.sessions() as s:
        head = await s.get(Member, UUID(mid))
    assert head is not None and head.disability_type is None and head.birth_date == HEAD_BORN
    assert len(await outbox(app)) == before


async def test_a_number_taken_by_another_member_is_a_409(api: Any) -> None:
    _, client = api
    hid = (await register(client, family()))["id"]
    other = (await register(client, household("CP-0002", VILLAGE, member("王五", "head", HEAD_BORN))))["id"]
    mid = (await client.get(f"/v1/households/{other}", headers=OFFICE)).json()["members"][0]["id"]
    r = await client.patch(f"/v1/households/{other}/members/{mid}", json={"id_number": HEAD_ID}, headers=OFFICE)
    assert_problem(r, 409)
    assert HEAD_ID not in r.text
    assert hid != other


async def test_a_member_of_another_household_is_not_found(api: Any) -> None:
    _, client = api
    one = (await register(client, family()))["id"]
    other = (await register(client, household("CP-0002", VILLAGE, member("王五", "head", HEAD_BORN))))["id"]
    mid = (await client.get(f"/v1/households/{other}", headers=OFFICE)).json()["members"][0]["id"]
    assert_problem(await client.patch(f"/v1/households/{one}/members/{mid}", json={"name": "x"}, headers=OFFICE), 404)


async def test_moving_a_household_needs_both_areas_in_reach(api: Any) -> None:
    _, client = api
    hid = (await register(client, family()))["id"]
    township = auth("township_office", area="371523101")
    moved = await client.patch(f"/v1/households/{hid}", json={"area_code": "371523101202"}, headers=township)
    assert moved.status_code == 200 and moved.json()["area_code"] == "371523101202"
    away = await client.patch(f"/v1/households/{hid}", json={"area_code": OTHER_TOWNSHIP_VILLAGE}, headers=township)
    assert_problem(away, 403)

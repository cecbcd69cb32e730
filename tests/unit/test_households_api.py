"""Households API on a migrated SQLite file: registration, visits, access and bad input."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select

from services.households.domain.imports.rows import REQUIRED, RowInvalid, RowParser
from services.households.models import Household, HousingAppraisal, Visit, WaterCheck
from services.households.schemas import departments, guarantees, households, monitoring, visits
from services.households.settings import KnownAreas
from shared.api.clock import request_time
from shared.messaging.outbox import OutboxMessage
from shared.schemas import RequestBody
from shared.timeutil import district_today
from tests.support import assert_problem, auth, running_app

VILLAGE = "371523101201"
OTHER_TOWNSHIP_VILLAGE = "371523105203"
HOUSEHOLD = {
    "household_code": "CP-0001",
    "area_code": VILLAGE,
    "head_name": "张三",
    "members": [
        {"name": "张三", "relationship_to_head": "head", "birth_date": "1960-03-01"},
        {"name": "李四", "relationship_to_head": "spouse", "birth_date": "1962-07-09"},
    ],
}
REGISTRATION_EVENTS = 3  # HouseholdRegistered, and MemberAdded for each of its two members
OFFICE = auth("district_office")
NUMBER = "371523196207090052"  # a valid ID-card number (its check character is right)
# A household code and a cadre's login are identifiers, not text an officer types; every other text must be screened.
IDENTIFIERS = {"household_code", "subject"}


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with running_app("households", await sqlite_url("households")) as (app, client):
        yield app, client


async def _count(app: Any, model: Any) -> int:
    async with app.state.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)))


async def test_register_household_writes_it_and_its_event(api: Any) -> None:
    app, client = api
    r = await client.post("/v1/households", json=HOUSEHOLD, headers=OFFICE)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["household_code"] == "CP-0001" and len(body["members"]) == 2
    async with app.state.sessions() as s:
        rows = (await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()  # type: ignore[arg-type]
    added = "gov.poverty.households.member_added.v1"
    assert [row.event_type for row in rows] == ["gov.poverty.households.household_registered.v1", added, added]
    assert {row.key for row in rows} == {body["id"]}
    announced = [json.loads(row.payload) for row in rows[1:]]
    assert {(m["name_masked"], m["id_masked"]) for m in announced} == {("张*", None), ("李*", None)}


async def test_visit_with_d_grade_house_publishes_a_housing_problem(api: Any) -> None:
    app, client = api
    hid = (await client.post("/v1/households", json=HOUSEHOLD, headers=OFFICE)).json()["id"]
    visit = {
        "round": 2,
        "visited_on": "2020-05-01",
        "visitor": "王五",
        "housing_grade": "D",
        "problems": [{"category": "schooling", "code": "school_dropout", "description": "child out of school"}],
    }
    r = await client.post(f"/v1/households/{hid}/visits", json=visit, headers=auth("helper_cadre", area=VILLAGE))
    assert r.status_code == 201, r.text
    assert sorted(p["code"] for p in r.json()["problems"]) == ["housing_unsafe", "school_dropout"]
    async with app.state.sessions() as s:
        types = (await s.scalars(select(OutboxMessage.event_type).order_by(OutboxMessage.id))).all()
    assert types.count("gov.poverty.households.problem_found.v1") == 2


@pytest.mark.parametrize(
    "number",
    [
        "371523196003010014",  # its check character is right
        "371523 19600301 0014",  # typed in groups: passed the screen before
        "371523-19600301-0014",
        "3715 2319 6003 0100 14",
        "３７１５２３１９６００３０１００１４",  # full-width
    ],
)
async def test_an_id_number_in_free_text_is_refused_before_it_is_stored_or_published(api: Any, number: str) -> None:
    app, client = api
    hid = (await client.post("/v1/households", json=HOUSEHOLD, headers=OFFICE)).json()["id"]
    problem = {"category": "medical", "code": "no_medical_insurance", "description": f"李四 ({number}) 未参保"}
    visit = {"round": 1, "visited_on": "2020-05-01", "visitor": "王五", "observations": f"身份证 {number}"}
    r = await client.post(f"/v1/households/{hid}/visits", json={**visit, "problems": [problem]}, headers=OFFICE)
    body = assert_problem(r, 422)
    assert [e["field"] for e in body["errors"]] == ["body.observations", "body.problems.0.description"]
    assert number not in r.text
    assert await _count(app, Visit) == 0


def _free_text(field: dict[str, Any]) -> bool:
    """Text of the field's JSON schema (optional or not) that no format, choice or pattern keeps a number out of."""
    return any(
        s.get("type") == "string"
        and not {"format", "enum", "const"} & s.keys()
        and re.search(s.get("pattern", ""), NUMBER)
        for s in field.get("anyOf", [field])
    )


def _typed_text() -> list[tuple[type[BaseModel], str]]:
    """Every free-text field of a request body or department row."""
    modules = (households, visits, guarantees, monitoring, departments)
    models = {
        m for module in modules for m in vars(module).values() if isinstance(m, type) and issubclass(m, RequestBody)
    }
    return sorted(
        (
            (model, name)
            for model in models
            for name, field in model.model_json_schema()["properties"].items()
            if name not in IDENTIFIERS and _free_text(field)
        ),
        key=lambda pair: (pair[0].__name__, pair[1]),
    )


def test_the_typed_text_includes_the_fields_that_leaked() -> None:
    names = {(model.__name__, name) for model, name in _typed_text()}
    assert {
        ("MemberCreate", "name"),
        ("VisitCreate", "visitor"),
        ("AppraisalCreate", "appraiser"),
    } <= names


@pytest.mark.parametrize(("model", "name"), _typed_text(), ids=lambda v: getattr(v, "__name__", v))
def test_every_text_a_client_types_refuses_an_id_number(model: type[BaseModel], name: str) -> None:
    with pytest.raises(ValidationError) as refused:
        model.model_validate({name: NUMBER})
    mine = [e for e in refused.value.errors() if e["loc"] == (name,)]
    assert [e["msg"] for e in mine] == ["Value error, must not contain an ID-card number"]


async def test_a_visitor_appraiser_or_checker_holding_an_id_number_is_refused_and_never_echoed(api: Any) -> None:
    app, client = api
    hid = (await client.post("/v1/households", json=HOUSEHOLD, headers=OFFICE)).json()["id"]
    calls = [
        ("visits", {"round": 1, "visited_on": "2020-05-01", "visitor": NUMBER}, "visitor"),
        ("housing-appraisals", {"grade": "B", "appraised_on": "2020-03-01", "appraiser": NUMBER}, "appraiser"),
        ("water-checks", {"checked_on": "2020-04-01", "source": "piped", "checked_by": NUMBER}, "checked_by"),
    ]
    for path, body, field in calls:
        r = await client.post(f"/v1/households/{hid}/{path}", json=body, headers=OFFICE)
        assert [e["field"] for e in assert_problem(r, 422)["errors"]] == [f"body.{field}"]
        assert NUMBER not in r.text
    assert [await _count(app, m) for m in (Visit, HousingAppraisal, WaterCheck)] == [0, 0, 0]
    assert await _count(app, OutboxMessage) == REGISTRATION_EVENTS  # the registration only


async def test_an_unknown_key_is_reported_without_repeating_it(api: Any) -> None:
    app, client = api
    member = {**HOUSEHOLD["members"][0], NUMBER: 1}
    r = await client.post("/v1/households", json={**HOUSEHOLD, NUMBER: "x", "members": [member]}, headers=OFFICE)
    fields = sorted(e["field"] for e in assert_problem(r, 422)["errors"])
    assert fields == ["body.(unknown field)", "body.members.0.(unknown field)"]
    assert NUMBER not in r.text
    assert await _count(app, Household) == 0


@pytest.mark.parametrize("column", ["head_name", "member_name", "relationship_to_head"])
def test_an_imported_name_or_relationship_holding_an_id_number_is_refused(column: str) -> None:
    values = {
        "household_code": "IM-1",
        "area_code": VILLAGE,
        "head_name": "张三",
        "member_name": "张三",
        "relationship_to_head": "head",
        "birth_date": "1962-07-09",
        "id_number": NUMBER,
        column: f"户主 {NUMBER[:6]} {NUMBER[6:14]} {NUMBER[14:]}",
    }
    parser = RowParser(list(REQUIRED), areas=KnownAreas("371523", {"371523101": "贾寨镇"}), today=date(2020, 6, 1))
    with pytest.raises(RowInvalid) as refused:
        parser.parse([values[c] for c in REQUIRED], line=2)
    assert refused.value.field == column and NUMBER[6:14] not in refused.value.message


async def test_dates_and_phone_numbers_side_by_side_are_not_taken_for_an_id_number(api: Any) -> None:
    _, client = api
    hid = (await client.post("/v1/households", json=HOUSEHOLD, headers=OFFICE)).json()["id"]
    visit = {
        "round": 1,
        "visited_on": "2020-05-01",
        "visitor": "王五",
        "observations": "2020-05-12 2020-06-01 电话 138 0013 8000",
    }
    assert (await client.post(f"/v1/households/{hid}/visits", json=visit, headers=OFFICE)).status_code == 201


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({**HOUSEHOLD, "members": []}, 422),
        ({k: v for k, v in HOUSEHOLD.items() if k != "head_name"}, 422),
        ({**HOUSEHOLD, "area_code": "3715"}, 422),
        ({**HOUSEHOLD, "members": [{**HOUSEHOLD["members"][0], "birth_date": "2990-01-01"}]}, 422),
        ({**HOUSEHOLD, "members": "two"}, 422),
        ({**HOUSEHOLD, "unexpected": 1}, 422),
        ({**HOUSEHOLD, "members": [{**HOUSEHOLD["members"][0], "birth_date": 0}]}, 422),  # not 1970-01-01
    ],
)
async def test_bad_registration_is_a_problem_and_changes_nothing(api: Any, body: dict[str, Any], status: int) -> None:
    app, client = api
    r = await client.post("/v1/households", json=body, headers=OFFICE)
    problem = assert_problem(r, status)
    assert "张三" not in r.text
    assert all(set(e) == {"field", "message", "code"} for e in problem.get("errors", []))
    assert await _count(app, Household) == 0
    assert await _count(app, OutboxMessage) == 0


async def test_malformed_json_is_400(api: Any) -> None:
    app, client = api
    r = await client.post(
        "/v1/households", content=b'{"household_code": ', headers={**OFFICE, "content-type": "application/json"}
    )
    assert_problem(r, 400)
    assert await _count(app, Household) == 0


async def test_duplicate_household_code_is_409_and_changes_nothing(api: Any) -> None:
    app, client = api
    assert (await client.post("/v1/households", json=HOUSEHOLD, headers=OFFICE)).status_code == 201
    assert_problem(await client.post("/v1/households", json=HOUSEHOLD, headers=OFFICE), 409)
    assert await _count(app, Household) == 1
    assert await _count(app, OutboxMessage) == REGISTRATION_EVENTS


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic abc"}],
)
async def test_missing_or_bad_token_is_401(api: Any, headers: dict[str, str]) -> None:
    _, client = api
    r = await client.post("/v1/households", json=HOUSEHOLD, headers=headers)
    assert_problem(r, 401)
    assert r.headers["www-authenticate"] == "Bearer"


async def test_token_signed_with_another_key_is_401(api: Any) -> None:
    from shared.auth import issue_token

    _, client = api
    forged = issue_token("another-secret-another-secret-0000", "x", ["district_office"])
    assert_problem(await client.get("/v1/households", headers={"Authorization": f"Bearer {forged}"}), 401)


async def test_wrong_role_is_403(api: Any) -> None:
    app, client = api
    assert_problem(await client.post("/v1/households", json=HOUSEHOLD, headers=auth("finance_officer")), 403)
    assert await _count(app, Household) == 0


async def test_township_officer_cannot_reach_another_township(api: Any) -> None:
    _, client = api
    elsewhere = {**HOUSEHOLD, "area_code": OTHER_TOWNSHIP_VILLAGE}
    assert_problem(
        await client.post("/v1/households", json=elsewhere, headers=auth("township_office", area="371523101")), 403
    )
    hid = (await client.post("/v1/households", json=elsewhere, headers=OFFICE)).json()["id"]
    assert_problem(await client.get(f"/v1/households/{hid}", headers=auth("township_office", area="371523101")), 403)
    ok = await client.get(f"/v1/households/{hid}", headers=auth("township_office", area="371523105"))
    assert ok.status_code == 200


async def test_unknown_household_is_404(api: Any) -> None:
    _, client = api
    r = await client.post(
        "/v1/households/6f1d1bb0-0000-4000-8000-000000000000/visits",
        json={"round": 1, "visited_on": "2020-05-01", "visitor": "王五"},
        headers=OFFICE,
    )
    assert_problem(r, 404)
    assert_problem(await client.get("/v1/households/not-a-uuid", headers=OFFICE), 422)


async def test_visit_in_the_future_is_refused(api: Any) -> None:
    app, client = api
    hid = (await client.post("/v1/households", json=HOUSEHOLD, headers=OFFICE)).json()["id"]
    tomorrow = (district_today() + timedelta(days=1)).isoformat()
    r = await client.post(
        f"/v1/households/{hid}/visits", json={"round": 1, "visited_on": tomorrow, "visitor": "x"}, headers=OFFICE
    )
    [error] = assert_problem(r, 422)["errors"]
    assert error["field"] == "body.visited_on" and error["code"] == "date_in_future"
    assert await _count(app, Visit) == 0


async def test_the_future_is_judged_by_the_request_clock(api: Any) -> None:
    """The day a request acts on is the injected clock's (`request_time`), not the server's."""
    app, client = api
    hid = (await client.post("/v1/households", json=HOUSEHOLD, headers=OFFICE)).json()["id"]
    app.dependency_overrides[request_time] = lambda: datetime(2020, 6, 30, 4, tzinfo=UTC)  # noon in the district
    try:
        visit = {"round": 1, "visited_on": "2020-07-01", "visitor": "x"}
        r = await client.post(f"/v1/households/{hid}/visits", json=visit, headers=OFFICE)
        assert assert_problem(r, 422)["errors"][0]["field"] == "body.visited_on"
        visit["visited_on"] = "2020-06-30"
        assert (await client.post(f"/v1/households/{hid}/visits", json=visit, headers=OFFICE)).status_code == 201
    finally:
        app.dependency_overrides.clear()


@pytest.mark.parametrize("visited_on", [0, 1_588_291_200, 1.5e9, True])
async def test_a_number_for_a_date_is_refused_not_read_as_seconds_since_1970(api: Any, visited_on: Any) -> None:
    app, client = api
    hid = (await client.post("/v1/households", json=HOUSEHOLD, headers=OFFICE)).json()["id"]
    r = await client.post(
        f"/v1/households/{hid}/visits", json={"round": 1, "visited_on": visited_on, "visitor": "x"}, headers=OFFICE
    )
    [error] = assert_problem(r, 422)["errors"]
    assert error["field"] == "body.visited_on" and "ISO 8601 text" in error["message"]
    assert await _count(app, Visit) == 0


@pytest.mark.parametrize("field", ["head_name", "area_code"])
async def test_a_household_field_cannot_be_cleared_with_null(api: Any, field: str) -> None:
    app, client = api
    hid = (await client.post("/v1/households", json=HOUSEHOLD, headers=OFFICE)).json()["id"]
    r = await client.patch(f"/v1/households/{hid}", json={"head_name": "王二", field: None}, headers=OFFICE)
    assert field in assert_problem(r, 422)["detail"]
    after = (await client.get(f"/v1/households/{hid}", headers=OFFICE)).json()
    assert (after["head_name"], after["area_code"]) == (HOUSEHOLD["head_name"], VILLAGE)
    assert await _count(app, OutboxMessage) == REGISTRATION_EVENTS  # the registration only


async def test_a_method_the_path_lacks_is_405_naming_every_method_it_has(api: Any) -> None:
    _, client = api
    r = await client.delete("/v1/households", headers=OFFICE)
    assert_problem(r, 405)
    assert r.headers["allow"] == "GET, HEAD, POST"  # two routes on the path; Starlette named only the first
    r = await client.put("/v1/households/6f1d1bb0-0000-4000-8000-000000000000/visits", headers=OFFICE)
    assert_problem(r, 405)
    assert r.headers["allow"] == "GET, HEAD, POST"


async def test_health_endpoints(api: Any) -> None:
    _, client = api
    assert (await client.get("/livez")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "kafka": "disabled"}

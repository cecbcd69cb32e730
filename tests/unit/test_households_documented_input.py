"""What the households document promises a client: every body's example is valid and, sent in order as one
family's story, accepted, whatever today is; a department row valid by its kind's row schema passes row validation;
a member's relationship to the head is one of the published codes, also for rows stored before it was."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from pydantic import BaseModel
from sqlalchemy import select

from services.households.models import HelperCadre, Household, HouseholdChange, Member
from services.households.schemas import guarantees, households, monitoring, power_holders, visits
from services.households.schemas.departments import ROW_MODELS, SUBMISSIONS
from shared.api.clock import request_time
from shared.auth import Role
from shared.schemas import RequestBody
from shared.service_index import create_app, load_settings
from shared.timeutil import district_today
from tests.api_fuzz import VALIDATION_ERRORS, generated_cases, with_samples
from tests.support import assert_problem, auth, migrate_over, running_app
from tests.unit.test_households_helpers import OFFICE, VILLAGE, household, households_app, make_id, member

DEPARTMENTS = auth(*(r.value for r in Role if r.value.startswith("dept_")), sub="departments")


def bodies() -> Iterator[type[BaseModel]]:
    for module in (households, visits, guarantees, monitoring, power_holders):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, RequestBody) and value.example is not None:
                yield value
    yield from ROW_MODELS.values()
    yield from SUBMISSIONS.values()


def example(model: type[BaseModel]) -> Any:
    """A body's example: a request body's class attribute, a submission's from its schema (built from its row's)."""
    return model.example if issubclass(model, RequestBody) else model.model_json_schema()["examples"][0]


@pytest.mark.parametrize("model", list(bodies()), ids=lambda m: m.__name__)
def test_every_example_is_valid(model: type[BaseModel]) -> None:
    model.model_validate(example(model))
    if model in SUBMISSIONS.values():
        for row in example(model)["rows"]:
            model.row_model.model_validate(row)  # type: ignore[attr-defined]


def _refs(schema: dict[str, Any]) -> list[str]:
    return [option["$ref"] for option in schema.get("anyOf", [schema]) if "$ref" in option]


def test_a_code_is_answered_as_the_enum_it_is_sent_as() -> None:
    """A client generated from the document reads back the codes it sends (a member's facts), and a statistics
    answer's level is one of the area levels, not any string."""
    schemas = create_app("households", load_settings("households")).openapi()["components"]["schemas"]
    for name in ("disability_type", "school_stage", "enrolment", "labour_capacity"):
        sent, answered = (_refs(schemas[body]["properties"][name]) for body in ("MemberCreate", "MemberRead"))
        assert answered == sent and sent, name
    [level] = _refs(schemas["StatisticsRead"]["properties"]["level"])
    assert schemas[level.rsplit("/", 1)[1]]["enum"] == ["district", "township", "village"]


@pytest.fixture
async def in_2020(sqlite_url: Any) -> Any:
    """The app on 1 December 2020, the year of the examples."""
    async with households_app(sqlite_url) as (app, client):
        app.dependency_overrides[request_time] = lambda: datetime(2020, 12, 1, 4, tzinfo=UTC)
        yield app, client


async def sent(client: Any, method: str, url: str, model: type[BaseModel], status: int = 201, **headers: str) -> Any:
    r = await client.request(method, url, json=example(model), headers={**OFFICE, **headers})
    assert r.status_code == status, f"{model.__name__}: {r.text}"
    return r.json()


async def test_the_examples_tell_one_familys_story_and_are_accepted(in_2020: Any) -> None:
    _, client = in_2020
    registered = await sent(client, "POST", "/v1/households", households.HouseholdCreate)
    at = f"/v1/households/{registered['id']}"
    son = await sent(client, "POST", f"{at}/members", households.MemberCreate)
    await sent(client, "PATCH", f"{at}/members/{son['id']}", households.MemberUpdate, 200)
    await sent(client, "POST", f"{at}/members/{son['id']}/id-number/reveal", households.RevealRequest, 200)
    await sent(client, "POST", f"{at}/members/{spouse_of(registered)}/death", households.MemberDeath)
    assert (await sent(client, "POST", "/v1/households/search", households.IdNumberSearch, 200))["household"]
    await sent(client, "POST", f"{at}/visits", visits.VisitCreate)
    appraisal = await sent(client, "POST", f"{at}/housing-appraisals", guarantees.AppraisalCreate)
    await sent(client, "POST", f"{at}/housing-appraisals/{appraisal['id']}/renovation", guarantees.RenovationCreate)
    await sent(client, "POST", f"{at}/water-checks", guarantees.WaterCheckCreate)
    await sent(client, "PUT", "/v1/poverty-lines/2020", guarantees.PovertyLineSet, 200)
    await sent(client, "POST", f"{at}/income-records", guarantees.IncomeRecordCreate)
    episode = await sent(client, "POST", f"{at}/risk-flags", monitoring.RiskFlagCreate)
    await sent(client, "POST", f"/v1/monitoring-episodes/{episode['id']}/measures", monitoring.MeasureCreate)
    await sent(client, "POST", f"/v1/monitoring-episodes/{episode['id']}/close", monitoring.EpisodeClose, 200)
    await sent(client, "POST", "/v1/helper-cadres", monitoring.HelperCadreCreate)
    await sent(client, "PATCH", at, households.HouseholdUpdate, 200)
    # Whether the household may leave poverty is the rules' to judge: the story left gaps (fluoride in the water).
    exit_refused = await client.post(f"{at}/status", json=households.StatusChange.example, headers=OFFICE)
    assert "unsafe_water" in assert_problem(exit_refused, 409)["gaps"]


def spouse_of(household: dict[str, Any]) -> str:
    """The id of the example household's spouse, whose death the death's example records."""
    [spouse] = [m["id"] for m in household["members"] if m["relationship_to_head"] == "spouse"]
    return str(spouse)


# The cadre the assignment's example names, registered before the example is sent (registering one draws its id).
EXAMPLE_CADRE = UUID(monitoring.CadreAssignment.example["helper_cadre_id"])


async def every_example_sent(app: Any, client: Any) -> set[type[BaseModel]]:
    """Send every households request body's example, each where it applies, with the records it needs made first;
    every one must be accepted (2xx). The models sent.

    The exit is decided on the day the clock says: the example household is first brought up to the exit standard
    for that day's year (its line, its income, safe water, the son back at school)."""
    models: set[type[BaseModel]] = set()

    async def send(method: str, url: str, model: type[BaseModel], headers: dict[str, str] = OFFICE) -> Any:
        r = await client.request(method, url, json=example(model), headers=headers)
        assert 200 <= r.status_code < 300, f"{model.__name__}: {r.status_code} {r.text}"
        models.add(model)
        return r.json()

    async def prepare(method: str, url: str, body: dict[str, Any]) -> None:
        r = await client.request(method, url, json=body, headers=OFFICE)
        assert 200 <= r.status_code < 300, r.text

    async with app.state.sessions() as s:
        cadre = HelperCadre(
            id=EXAMPLE_CADRE, subject="cadre-example", name="李帮扶", unit="区民政局", area_code="371523101",
            registered_at=datetime(2020, 1, 1, tzinfo=UTC),
        )  # fmt: skip
        s.add(cadre)
        await s.commit()
    registered = await send("POST", "/v1/households", households.HouseholdCreate)
    at = f"/v1/households/{registered['id']}"
    holder = await send("POST", "/v1/power-holders", power_holders.PowerHolderCreate)
    tie = await send("POST", f"/v1/power-holders/{holder['id']}/relatives", power_holders.RelativeCreate)  # the head
    await send("POST", f"/v1/power-holders/{holder['id']}/relatives/{tie['id']}/end", power_holders.Ending)
    son = await send("POST", f"{at}/members", households.MemberCreate)
    await send("PATCH", f"{at}/members/{son['id']}", households.MemberUpdate)
    await send("POST", f"{at}/members/{son['id']}/id-number/reveal", households.RevealRequest)
    await send("POST", f"{at}/members/{spouse_of(registered)}/death", households.MemberDeath)
    assert (await send("POST", "/v1/households/search", households.IdNumberSearch))["household"]
    await send("POST", f"{at}/visits", visits.VisitCreate)
    appraisal = await send("POST", f"{at}/housing-appraisals", guarantees.AppraisalCreate)
    await send("POST", f"{at}/housing-appraisals/{appraisal['id']}/renovation", guarantees.RenovationCreate)
    await send("POST", f"{at}/water-checks", guarantees.WaterCheckCreate)
    moved = app.dependency_overrides.get(request_time)  # the app's clock, when a test moved it
    day = district_today(moved() if moved else None)
    await send("PUT", f"/v1/poverty-lines/{day.year}", guarantees.PovertyLineSet)
    await send("POST", f"{at}/income-records", guarantees.IncomeRecordCreate)
    episode = await send("POST", f"{at}/risk-flags", monitoring.RiskFlagCreate)
    await send("POST", f"/v1/monitoring-episodes/{episode['id']}/measures", monitoring.MeasureCreate)
    await send("POST", f"/v1/monitoring-episodes/{episode['id']}/close", monitoring.EpisodeClose)
    await send("POST", "/v1/helper-cadres", monitoring.HelperCadreCreate)
    await send("PUT", f"{at}/helper-cadre", monitoring.CadreAssignment)
    await send("PATCH", at, households.HouseholdUpdate)
    # The exit standard met this year: the son at school, safe water checked today, income above the line.
    await prepare("PATCH", f"{at}/members/{son['id']}", {"enrolment": "enrolled"})
    await prepare("POST", f"{at}/water-checks", {"checked_on": day.isoformat(), "source": "piped", "checked_by": "x"})
    await prepare("POST", f"{at}/income-records", {"year": day.year, "source": "wages", "amount_fen": 1_600_000})
    assert (await send("POST", f"{at}/status", households.StatusChange))["status"] == "exited_receiving_policies"
    for kind, submission in SUBMISSIONS.items():
        report = await send("POST", f"/v1/department-data/{kind}", submission, {**DEPARTMENTS, "Idempotency-Key": kind})
        assert (report["applied_count"], report["errors"]) == (1, []), kind
    return models


async def test_every_example_is_accepted_whatever_today_is(sqlite_url: Any) -> None:
    """On the real clock, not one set in the examples' year: an example dated in a year gone by is still valid."""
    async with households_app(sqlite_url) as (app, client):
        sent_models = await every_example_sent(app, client)
    assert sent_models == set(bodies()) - set(ROW_MODELS.values())  # the rows went in their kinds' submissions


async def test_each_kinds_example_rows_apply(in_2020: Any) -> None:
    _, client = in_2020
    hid = (await sent(client, "POST", "/v1/households", households.HouseholdCreate))["id"]
    await sent(client, "POST", f"/v1/households/{hid}/members", households.MemberCreate)
    for kind, submission in SUBMISSIONS.items():
        headers = {**DEPARTMENTS, "Idempotency-Key": f"example-{kind}"}
        r = await client.post(f"/v1/department-data/{kind}", json=example(submission), headers=headers)
        assert r.status_code == 201, r.text
        assert (r.json()["applied_count"], r.json()["errors"]) == (1, []), kind


SAMPLE_ID = make_id(date(1960, 1, 1), 1)


async def test_rows_valid_by_their_kinds_schema_pass_row_validation(sqlite_url: Any) -> None:
    """Rows are validated by the use case, one by one, so the operation's 422 cannot show a row the document
    allows but the service refuses: the row reports must not either (a row naming nobody is a domain error)."""
    async with households_app(sqlite_url) as (app, client):
        document = app.openapi()
        paths = {p: item for p, item in document["paths"].items() if p.startswith("/v1/department-data/")}
        refused = []
        for case in generated_cases({**document, "paths": paths}, 25):
            rows = with_samples(case.body["rows"], {"id_number": SAMPLE_ID})  # whole numbers as integers too
            headers = {**DEPARTMENTS, "Idempotency-Key": str(uuid4())}
            r = await client.post(case.formatted_path, json={"rows": rows}, headers=headers)
            assert r.status_code == 201, r.text
            refused += [
                (case.formatted_path, rows[e["row"]], e) for e in r.json()["errors"] if e["code"] in VALIDATION_ERRORS
            ]
    assert not refused, "\n".join(map(str, refused[:10]))


async def test_a_relationship_is_one_of_the_codes(in_2020: Any) -> None:
    _, client = in_2020
    r = await client.post(
        "/v1/households", json=household("RL-1", VILLAGE, member("张三", "户主", date(1960, 3, 1))), headers=OFFICE
    )
    assert [e["field"] for e in assert_problem(r, 422)["errors"]] == ["body.members.0.relationship_to_head"]


async def test_stored_relationships_become_codes_and_the_history_keeps_what_they_were(sqlite_url: Any) -> None:
    url = await sqlite_url("households")
    hid = uuid4()
    typed = {"户主": "head", "妻子": "spouse", "son": "son", "Daughter": "daughter", "叔叔": "other"}
    members = [
        {
            "id": uuid4(),
            "household_id": hid,
            "name": f"成员{n}",
            "relationship_to_head": value,
            "birth_date": date(1960, 1, n + 1),
        }
        for n, value in enumerate(typed)
    ]
    home = {
        "id": hid,
        "household_code": "RL-1",
        "area_code": VILLAGE,
        "head_name": "张三",
        "registered_at": datetime(2020, 1, 1, tzinfo=UTC),
    }
    await migrate_over("households", url, "0005", {Household.__table__: [home], Member.__table__: members})  # type: ignore[attr-defined]
    async with running_app("households", url) as (app, client):
        async with app.state.sessions() as s:
            stored = {m.name: m.relationship_to_head for m in (await s.scalars(select(Member))).all()}
            notes = (await s.scalars(select(HouseholdChange).where(HouseholdChange.household_id == hid))).all()
        assert (await client.get(f"/v1/households/{hid}", headers=OFFICE)).status_code == 200
    assert stored == {f"成员{n}": code for n, code in enumerate(typed.values())}
    recorded = sorted(json.loads(n.changes)["relationship_to_head"] for n in notes)
    assert recorded == sorted([value, code] for value, code in typed.items() if value != code)

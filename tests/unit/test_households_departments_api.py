"""Department bulk endpoints: own kind only, size limit, idempotency key, per-row savepoints and errors."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select

from services.households.models import (
    DepartmentBatch,
    Household,
    HousingAppraisal,
    Member,
    MonitoringEpisode,
    WaterCheck,
)
from shared.api.clock import request_time
from shared.messaging.outbox import OutboxMessage
from shared.timeutil import district_today
from tests.support import assert_problem, auth
from tests.unit.test_households_helpers import (
    OFFICE,
    VILLAGE,
    count,
    household,
    households_app,
    make_id,
    member,
    outbox,
    register,
)

HEAD_BORN, CHILD_BORN = date(1960, 3, 1), date(district_today().year - 10, 5, 1)
HEAD_ID, CHILD_ID = make_id(HEAD_BORN, 1), make_id(CHILD_BORN, 2)
HEALTH, EDUCATION = auth("dept_health", sub="dept-health"), auth("dept_education", sub="dept-education")


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with households_app(sqlite_url, department_max_rows=50) as running:
        _, client = running
        body = household(
            "CP-0001", VILLAGE, member("张三", "head", HEAD_BORN, seq=1), member("张小明", "son", CHILD_BORN, seq=2)
        )
        await register(client, body)
        yield running


async def submit(client: Any, kind: str, rows: list[Any], key: str, headers: dict[str, str]) -> Any:
    return await client.post(
        f"/v1/department-data/{kind}", json={"rows": rows}, headers={**headers, "Idempotency-Key": key}
    )


async def head(app: Any) -> Member:
    async with app.state.sessions() as s:
        return (await s.scalars(select(Member).where(Member.name == "张三"))).one()


@pytest.mark.parametrize(
    ("kind", "role", "row", "check"),
    [
        ("minimum_allowance", "dept_civil_affairs", {"status": "dibao", "effective_on": "2020-03-01"}, "dibao"),
        ("chronic_disease", "dept_health", {"disease": "高血压", "approved_on": "2020-04-01"}, "chronic"),
        ("medical_insurance", "dept_health", {"medical_insured": True, "premium_subsidised": True}, "insured"),
        (
            "disability",
            "dept_disability",
            {"disability_type": "physical", "grade": 2, "certified_on": "2020-04-01"},
            "disabled",
        ),
        (
            "water",
            "dept_water",
            {"checked_on": "2020-04-01", "source": "well", "problems": ["excess_fluoride"]},
            "water",
        ),
        ("housing", "dept_housing", {"grade": "C", "appraised_on": "2020-04-01", "appraiser": "区住建局"}, "housing"),
    ],
)
async def test_each_department_applies_its_own_kind_by_id_number(
    api: Any, kind: str, role: str, row: dict[str, Any], check: str
) -> None:
    app, client = api
    r = await submit(client, kind, [{"id_number": HEAD_ID, **row}], f"{kind}-1", auth(role))
    assert r.status_code == 201, r.text
    assert (r.json()["applied_count"], r.json()["errors"]) == (1, [])
    m, h = await head(app), await _household(app)
    expected = {
        "dibao": h.minimum_allowance == "dibao",
        "chronic": m.chronic_disease == "高血压",
        "insured": m.medical_insured and m.premium_subsidised,
        "disabled": m.disability_grade == 2,
        "water": h.water_safe is False,
        "housing": h.housing_grade == "C",
    }
    assert expected[check]
    assert not any(HEAD_ID in row.payload for row in await outbox(app))


async def _household(app: Any) -> Household:
    async with app.state.sessions() as s:
        return (await s.scalars(select(Household))).one()


async def test_a_department_cannot_write_another_departments_kind(api: Any) -> None:
    app, client = api
    row = {"id_number": HEAD_ID, "status": "dibao", "effective_on": "2020-03-01"}
    for headers in (HEALTH, OFFICE, auth("dept_housing")):
        r = await submit(client, "minimum_allowance", [row], "k-1", headers)
        assert_problem(r, 403)
        assert HEAD_ID not in r.text
    assert await count(app, DepartmentBatch) == 0
    assert (await _household(app)).minimum_allowance == "none"


async def test_too_many_rows_is_a_413_that_changes_nothing(api: Any) -> None:
    app, client = api
    before = await count(app, OutboxMessage)
    rows = [{"id_number": HEAD_ID, "amount_fen": 100, "occurred_on": "2020-04-01"}] * 51
    assert_problem(await submit(client, "hospital_cost", rows, "big-1", HEALTH), 413)
    huge = {"rows": [], "pad": "x" * (50 * 2048 + 1)}
    r = await client.post(
        "/v1/department-data/hospital_cost", json=huge, headers={**HEALTH, "Idempotency-Key": "big-2"}
    )
    assert_problem(r, 413)
    assert await count(app, DepartmentBatch) == 0 and await count(app, OutboxMessage) == before


async def test_a_repeat_returns_the_stored_report_and_changes_nothing(api: Any) -> None:
    app, client = api
    rows = [
        {"id_number": CHILD_ID, "enrolment": "dropped_out", "school_stage": "primary"},
        {"id_number": make_id(seq=77), "enrolment": "enrolled"},
    ]
    first = await submit(client, "enrolment", rows, "edu-2020-05", EDUCATION)
    assert first.status_code == 201 and first.json()["applied_count"] == 1
    assert "idempotency-replayed" not in first.headers
    events = await count(app, OutboxMessage)
    again = await submit(client, "enrolment", rows, "edu-2020-05", EDUCATION)
    assert again.status_code == 200 and again.headers["idempotency-replayed"] == "true"
    assert again.json() == first.json()
    assert await count(app, OutboxMessage) == events and await count(app, DepartmentBatch) == 1
    changed = await submit(client, "enrolment", rows[:1], "edu-2020-05", EDUCATION)
    assert_problem(changed, 409)
    assert await count(app, OutboxMessage) == events


async def test_a_missing_or_malformed_idempotency_key_is_refused(api: Any) -> None:
    app, client = api
    row = {"id_number": CHILD_ID, "enrolment": "enrolled"}
    r = await client.post("/v1/department-data/enrolment", json={"rows": [row]}, headers=EDUCATION)
    assert_problem(r, 422)
    assert_problem(await submit(client, "enrolment", [row], "has spaces", EDUCATION), 422)
    unknown = assert_problem(await submit(client, "no_such_kind", [row], "k", EDUCATION), 422)
    assert [(e["field"], e["code"]) for e in unknown["errors"]] == [("path.kind", "unknown_kind")]
    assert await count(app, DepartmentBatch) == 0


async def test_bad_rows_are_reported_one_by_one_and_good_rows_applied(api: Any) -> None:
    app, client = api
    bad_check = CHILD_ID[:17] + ("0" if CHILD_ID[17] != "0" else "1")
    m = await head(app)
    rows: list[Any] = [
        {"id_number": CHILD_ID, "enrolment": "dropped_out"},  # 0: good
        {"id_number": bad_check, "enrolment": "enrolled"},  # 1: invalid number
        {"id_number": make_id(seq=55), "enrolment": "enrolled"},  # 2: nobody has it
        {"member_id": str(m.id), "enrolment": "graduated"},  # 3: unknown value
        {"enrolment": "enrolled"},  # 4: no reference
        "not an object",  # 5
        {"id_number": CHILD_ID, "member_id": str(m.id), "enrolment": "enrolled"},  # 6: two references
        {"member_id": str(m.id), "enrolment": "exempt", "school_name": "x" * 101},  # 7: too long
    ]
    r = await submit(client, "enrolment", rows, "edu-mixed", EDUCATION)
    assert r.status_code == 201, r.text
    report = r.json()
    assert (report["row_count"], report["applied_count"], report["error_count"]) == (8, 1, 7)
    assert sorted({e["row"] for e in report["errors"]}) == [1, 2, 3, 4, 5, 6, 7]
    assert all(set(e) == {"row", "field", "message", "code"} for e in report["errors"])
    assert bad_check not in r.text and CHILD_ID not in r.text
    async with app.state.sessions() as s:
        child = (await s.scalars(select(Member).where(Member.name == "张小明"))).one()
        batch = (await s.scalars(select(DepartmentBatch))).one()
    assert child.enrolment == "dropped_out" and (await head(app)).enrolment is None
    assert CHILD_ID not in batch.report and bad_check not in batch.report


async def test_a_row_dated_after_the_day_it_is_applied_is_reported_by_field(api: Any) -> None:
    app, client = api
    app.dependency_overrides[request_time] = lambda: datetime(2020, 6, 30, 4, tzinfo=UTC)
    try:
        rows = [
            {"id_number": HEAD_ID, "disease": "高血压", "approved_on": "2020-07-01"},  # the day after
            {"id_number": make_id(date(2020, 7, 1), 7), "disease": "高血压", "approved_on": "2020-06-01"},  # born after
            {"id_number": HEAD_ID, "disease": "高血压", "approved_on": "2020-06-30"},
        ]
        report = (await submit(client, "chronic_disease", rows, "late-1", HEALTH)).json()
    finally:
        app.dependency_overrides.clear()
    assert [(e["row"], e["field"], e["code"]) for e in report["errors"]] == [
        (0, "approved_on", "date_in_future"),
        (1, "id_number", "date_in_future"),
    ]
    assert report["applied_count"] == 1 and (await head(app)).chronic_disease_approved_on == date(2020, 6, 30)


async def test_a_row_that_breaks_a_rule_midway_leaves_nothing_behind(api: Any) -> None:
    app, client = api
    rows = [
        {"id_number": HEAD_ID, "medical_insured": False, "premium_subsidised": True},  # contradiction after changes
        {"id_number": HEAD_ID, "medical_insured": True, "premium_subsidised": True},
    ]
    report = (await submit(client, "medical_insurance", rows, "ins-1", HEALTH)).json()
    assert [e["row"] for e in report["errors"]] == [0] and report["applied_count"] == 1
    h = await head(app)
    assert h.medical_insured and h.premium_subsidised
    coverage = [r for r in await outbox(app) if r.event_type.endswith("medical_coverage_changed.v1")]
    assert len(coverage) == 1  # only the applied row's event


async def test_rows_may_reference_members_by_id_and_households_by_code(api: Any) -> None:
    app, client = api
    m = await head(app)
    water = [{"household_code": "CP-0001", "checked_on": "2020-04-01", "source": "piped"}]
    assert (await submit(client, "water", water, "w-1", auth("dept_water"))).json()["applied_count"] == 1
    unknown = [{"household_code": "CP-9999", "checked_on": "2020-04-01", "source": "piped"}]
    assert (await submit(client, "water", unknown, "w-2", auth("dept_water"))).json()["error_count"] == 1
    disability = [{"member_id": str(m.id), "disability_type": "visual", "grade": 1, "certified_on": "2020-04-01"}]
    assert (await submit(client, "disability", disability, "d-1", auth("dept_disability"))).json()["applied_count"] == 1
    assert await count(app, WaterCheck) == 1
    assert await count(app, MonitoringEpisode) == 1  # a new disability flags relapse risk


async def test_large_hospital_costs_flag_relapse_risk_once_a_year(api: Any) -> None:
    app, client = api
    rows = [
        {"id_number": HEAD_ID, "amount_fen": 600_000, "occurred_on": "2020-03-01"},
        {"id_number": HEAD_ID, "amount_fen": 500_000, "occurred_on": "2020-04-01"},  # crosses 10,000 yuan
        {"id_number": HEAD_ID, "amount_fen": 500_000, "occurred_on": "2020-05-01"},  # already over
        {"id_number": HEAD_ID, "amount_fen": 500_000, "occurred_on": "2020-05-01"},  # the same cost again
    ]
    report = (await submit(client, "hospital_cost", rows, "cost-1", HEALTH)).json()
    assert report["applied_count"] == 4
    flags = [json.loads(r.payload) for r in await outbox(app) if r.event_type.endswith("risk_flag_raised.v1")]
    assert [f["kind"] for f in flags] == ["large_medical_expense"]
    costs = [r for r in await outbox(app) if r.event_type.endswith("hospital_cost_recorded.v1")]
    assert len(costs) == 3


async def test_a_departments_housing_grade_becomes_a_problem_once(api: Any) -> None:
    app, client = api
    row = {"id_number": HEAD_ID, "grade": "D", "appraised_on": "2020-04-01", "appraiser": "区住建局"}
    await submit(client, "housing", [row], "h-1", auth("dept_housing"))
    await submit(client, "housing", [row], "h-2", auth("dept_housing"))  # the same appraisal, another key
    assert await count(app, HousingAppraisal) == 1
    problems = [json.loads(r.payload) for r in await outbox(app) if r.event_type.endswith("problem_found.v1")]
    assert [(p["code"], p["housing_grade"], p["found_by"]) for p in problems] == [("housing_unsafe", "D", "officer-1")]
    assert await count(app, DepartmentBatch) == 2
    assert UUID(problems[0]["problem_id"])


async def test_a_minimal_insurance_row_leaves_the_premium_subsidy_alone(api: Any) -> None:
    app, client = api
    full = [{"id_number": HEAD_ID, "medical_insured": True, "premium_subsidised": True}]
    assert (await submit(client, "medical_insurance", full, "ins-full", HEALTH)).json()["applied_count"] == 1
    minimal = [{"id_number": HEAD_ID, "medical_insured": True}]
    assert (await submit(client, "medical_insurance", minimal, "ins-min", HEALTH)).json()["applied_count"] == 1
    h = await head(app)
    assert h.medical_insured and h.premium_subsidised


async def test_a_member_who_lost_cover_loses_the_premium_subsidy_with_it(api: Any) -> None:
    app, client = api
    full = [{"id_number": HEAD_ID, "medical_insured": True, "premium_subsidised": True}]
    assert (await submit(client, "medical_insurance", full, "ins-full", HEALTH)).json()["applied_count"] == 1
    contradictory = [{"id_number": HEAD_ID, "medical_insured": False, "premium_subsidised": True}]
    report = (await submit(client, "medical_insurance", contradictory, "ins-bad", HEALTH)).json()
    assert report["applied_count"] == 0 and report["errors"][0]["code"] == "invalid-input"
    lost = [{"id_number": HEAD_ID, "medical_insured": False}]
    assert (await submit(client, "medical_insurance", lost, "ins-lost", HEALTH)).json()["applied_count"] == 1
    h = await head(app)
    assert not h.medical_insured and not h.premium_subsidised
    problems = [json.loads(r.payload) for r in await outbox(app) if r.event_type.endswith("problem_found.v1")]
    assert [(p["category"], p["code"]) for p in problems] == [("medical", "no_medical_insurance")]  # for audit


async def test_a_family_doctor_contract_is_kept_and_published_with_the_cover(api: Any) -> None:
    app, client = api
    signed = [{"id_number": HEAD_ID, "medical_insured": True, "family_doctor_contract": True}]
    assert (await submit(client, "medical_insurance", signed, "doctor-1", HEALTH)).json()["applied_count"] == 1
    assert (await head(app)).family_doctor_contract
    coverage = [r for r in await outbox(app) if r.event_type.endswith("medical_coverage_changed.v1")]
    assert json.loads(coverage[-1].payload)["family_doctor_contract"] is True


async def test_row_text_holding_an_id_number_is_refused_and_never_echoed_or_stored(api: Any) -> None:
    app, client = api
    typed = f"{CHILD_ID[:6]} {CHILD_ID[6:14]} {CHILD_ID[14:]}"  # grouped, as a clerk might paste it
    housing = [{"id_number": HEAD_ID, "grade": "C", "appraised_on": "2020-04-01", "appraiser": typed}]
    enrolment = [{"id_number": CHILD_ID, "enrolment": "enrolled", "school_name": CHILD_ID}]
    chronic = [{"id_number": HEAD_ID, "disease": f"高血压 {HEAD_ID}", "approved_on": "2020-04-01"}]
    for kind, rows, headers, field in [
        ("housing", housing, auth("dept_housing"), "appraiser"),
        ("enrolment", enrolment, EDUCATION, "school_name"),
        ("chronic_disease", chronic, HEALTH, "disease"),
    ]:
        r = await submit(client, kind, rows, f"{kind}-typed", headers)
        assert [e["field"] for e in r.json()["errors"]] == [field]
        assert CHILD_ID[6:14] not in r.text and HEAD_ID not in r.text
    async with app.state.sessions() as s:
        reports = (await s.scalars(select(DepartmentBatch.report))).all()
    assert not any(CHILD_ID[6:14] in report or HEAD_ID in report for report in reports)
    assert await count(app, HousingAppraisal) == 0
    assert (await head(app)).chronic_disease is None


async def test_an_unknown_key_in_a_row_is_reported_without_repeating_it(api: Any) -> None:
    app, client = api
    unknown = make_id(date(1962, 7, 9), 9)
    rows = [{"id_number": CHILD_ID, "enrolment": "enrolled", unknown: "x"}]
    r = await submit(client, "enrolment", rows, "edu-unknown", EDUCATION)
    assert [e["field"] for e in r.json()["errors"]] == ["(unknown field)"]
    assert unknown not in r.text
    async with app.state.sessions() as s:
        batch = (await s.scalars(select(DepartmentBatch))).one()
    assert unknown not in batch.report


async def test_a_batch_key_is_kept_only_as_a_keyed_hash_and_still_answers_a_retry(api: Any) -> None:
    app, client = api
    key = HEAD_ID  # a department may number its batches with anything, even a citizen's ID number
    row = {"household_code": "CP-0001", "status": "dibao", "effective_on": "2020-03-01"}
    civil_affairs = auth("dept_civil_affairs", sub="dept-civil")
    first = await submit(client, "minimum_allowance", [row], key, civil_affairs)
    again = await submit(client, "minimum_allowance", [row], key, civil_affairs)
    assert first.status_code == 201 and again.status_code == 200, again.text
    async with app.state.sessions() as s:
        [stored] = (await s.scalars(select(DepartmentBatch.idempotency_key))).all()
    assert HEAD_ID not in stored and len(stored) == 64

"""Projects API on a migrated SQLite file: registration, inspections, income, open findings, bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from services.projects.models import (
    Project,
    ProjectIncome,
    ProjectInspection,
    ProjectOpenFinding,
    ProjectProblem,
)
from shared.api.clock import request_time
from shared.contracts.audit import (
    DisciplineReferralMade,
    FindingRecorded,
    FindingRecurred,
    RectificationClosed,
    RectificationOpened,
    RectificationRejected,
    RectificationReopened,
    RectificationRescheduled,
    Severity,
    SubjectKind,
)
from shared.contracts.households import ProblemCategory
from shared.messaging.outbox import OutboxMessage
from shared.timeutil import district_today
from tests.support import apply_event, assert_problem, auth, running_app

TOWNSHIP = "371523101"
VILLAGE = "371523101201"
OTHER_TOWNSHIP_VILLAGE = "371523105203"
PROJECT = {
    "project_code": "XM-2020-001",
    "name": "贾寨镇扶贫大棚",
    "kind": "greenhouse",
    "area_code": VILLAGE,
    "budget_fen": 150_000_000,
    "started_on": "2020-03-01",
    "manager_id": "manager-9",
    "manager_name": "贾寨镇副镇长 张伟",
}
INSPECTION = {
    "inspected_on": "2020-05-12",
    "inspector": "项目专班 王五",
    "notes": "看外观, 看运营",
    "problems": [
        {"code": "roof_damaged", "description": "大棚棚膜破损"},
        {"code": "income_not_paid", "description": "一季度收益未到位"},
    ],
}
INCOME = {"asset_id": "3f0c8d2e-5b1a-4c6e-9d7f-2a4b6c8d0e1f", "period": "2020-06", "amount_fen": 4_466_400}
ID_NUMBER = "11010519491231002X"  # a valid number typed into free text
OFFICE = auth("district_office")
JSON_OFFICE = {**OFFICE, "content-type": "application/json"}
FINANCE = auth("finance_officer")
UNKNOWN = "6f1d1bb0-0000-4000-8000-000000000000"


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with running_app("projects", await sqlite_url("projects")) as (app, client):
        yield app, client


async def _count(app: Any, model: Any) -> int:
    async with app.state.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)))


async def _outbox(app: Any) -> list[OutboxMessage]:
    async with app.state.sessions() as s:
        return list((await s.scalars(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all())


async def _project(client: Any, **changes: Any) -> str:
    r = await client.post("/v1/projects", json={**PROJECT, **changes}, headers=OFFICE)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_register_project_writes_it_and_its_event(api: Any) -> None:
    app, client = api
    r = await client.post("/v1/projects", json=PROJECT, headers=OFFICE)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["kind"] == "greenhouse" and body["budget_fen"] == 150_000_000
    [row] = await _outbox(app)
    assert row.event_type == "gov.poverty.projects.project_registered.v1" and row.key == body["id"]
    payload = json.loads(row.payload)
    assert payload == {
        "project_id": body["id"],
        "name": PROJECT["name"],
        "kind": "greenhouse",
        "area_code": VILLAGE,
        "budget_fen": 150_000_000,
    }
    fetched = await client.get(f"/v1/projects/{body['id']}", headers=auth("auditor"))
    assert fetched.status_code == 200 and fetched.json() == body


async def test_township_officer_registers_and_lists_within_its_township(api: Any) -> None:
    _, client = api
    own = auth("township_office", area=TOWNSHIP)
    r = await client.post("/v1/projects", json={**PROJECT, "area_code": TOWNSHIP}, headers=own)
    assert r.status_code == 201, r.text
    await _project(client, project_code="XM-2020-002", area_code=OTHER_TOWNSHIP_VILLAGE)
    listed = await client.get("/v1/projects", headers=own)
    assert [p["project_code"] for p in listed.json()["items"]] == ["XM-2020-001"]
    everything = await client.get("/v1/projects", headers=OFFICE)
    assert len(everything.json()["items"]) == 2
    assert_problem(await client.get("/v1/projects", params={"area_code": "371523105"}, headers=own), 403)


async def test_a_district_wide_reading_role_does_not_widen_a_township_officers_writes(api: Any) -> None:
    app, client = api
    both = auth("township_office", "auditor", area="371523105")
    assert_problem(await client.post("/v1/projects", json=PROJECT, headers=both), 403)
    assert await _count(app, Project) == 0
    await _project(client)
    assert (
        len((await client.get("/v1/projects", headers=both)).json()["items"]) == 1
    )  # reads district-wide, as an auditor


async def test_township_officer_cannot_reach_another_township(api: Any) -> None:
    app, client = api
    other = auth("township_office", area="371523105")
    assert_problem(await client.post("/v1/projects", json=PROJECT, headers=other), 403)
    assert await _count(app, Project) == 0
    pid = await _project(client)
    assert_problem(await client.get(f"/v1/projects/{pid}", headers=other), 403)
    assert_problem(await client.post(f"/v1/projects/{pid}/inspections", json=INSPECTION, headers=other), 403)
    assert await _count(app, ProjectInspection) == 0
    assert len(await _outbox(app)) == 1


@pytest.mark.parametrize(
    "body",
    [
        {k: v for k, v in PROJECT.items() if k != "name"},
        {**PROJECT, "kind": "factory"},
        {**PROJECT, "area_code": "371523"},
        {**PROJECT, "budget_fen": 1500.5},
        {**PROJECT, "budget_fen": 150000000.0},  # money is written as an integer, never a float
        {**PROJECT, "budget_fen": "150000000"},
        {**PROJECT, "budget_fen": -1},
        {**PROJECT, "budget_fen": 10**13},
        {**PROJECT, "started_on": "not a date"},
        {**PROJECT, "project_code": "XM 001"},
        {**PROJECT, "project_code": "---"},
        {**PROJECT, "project_code": ID_NUMBER},  # a code is published and shown: never an ID-card number
        {**PROJECT, "project_code": f"XM-{ID_NUMBER}"},
        {**PROJECT, "started_on": "2099-01-01"},  # every inspection and income refused until then
        {**PROJECT, "name": f"为{ID_NUMBER}建的大棚"},
        {**PROJECT, "unexpected": 1},
        {**PROJECT, "name": "bad\u0000name"},  # PostgreSQL refuses NUL in text: a 500 before
        [PROJECT],
    ],
)
async def test_bad_registration_is_a_problem_and_changes_nothing(api: Any, body: Any) -> None:
    app, client = api
    problem = assert_problem(await client.post("/v1/projects", json=body, headers=OFFICE), 422)
    assert all(set(e) == {"field", "message", "code"} for e in problem.get("errors", []))
    assert await _count(app, Project) == 0
    assert await _outbox(app) == []


async def test_malformed_json_is_400(api: Any) -> None:
    app, client = api
    r = await client.post("/v1/projects", content=b'{"project_code": ', headers=JSON_OFFICE)
    assert_problem(r, 400)
    assert await _count(app, Project) == 0


async def test_duplicate_project_code_is_409_and_changes_nothing(api: Any) -> None:
    app, client = api
    await _project(client)
    assert_problem(await client.post("/v1/projects", json={**PROJECT, "name": "另一个"}, headers=OFFICE), 409)
    lower_case = {**PROJECT, "project_code": "xm-2020-001"}  # one code however typed: else its income is paid twice
    assert_problem(await client.post("/v1/projects", json=lower_case, headers=OFFICE), 409)
    assert await _count(app, Project) == 1
    assert len(await _outbox(app)) == 1


async def test_a_project_code_is_kept_in_capitals(api: Any) -> None:
    _, client = api
    r = await client.post("/v1/projects", json={**PROJECT, "project_code": "xm-2020-009"}, headers=OFFICE)
    assert r.status_code == 201 and r.json()["project_code"] == "XM-2020-009"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic abc"}])
async def test_missing_or_bad_token_is_401(api: Any, headers: dict[str, str]) -> None:
    app, client = api
    assert_problem(await client.post("/v1/projects", json=PROJECT, headers=headers), 401)
    assert_problem(await client.get("/v1/projects", headers=headers), 401)
    assert await _count(app, Project) == 0


@pytest.mark.parametrize(
    ("method", "path", "role"),
    [
        ("post", "/v1/projects", "finance_officer"),
        ("post", "/v1/projects", "inspector"),
        ("get", "/v1/projects", "dept_health"),
        ("post", "/v1/projects/{pid}/inspections", "auditor"),
        ("post", "/v1/projects/{pid}/income", "inspector"),
        ("post", "/v1/projects/{pid}/income", "township_office"),
    ],
)
async def test_wrong_role_is_403_and_changes_nothing(api: Any, method: str, path: str, role: str) -> None:
    app, client = api
    pid = await _project(client)
    bodies = {
        "/v1/projects": {**PROJECT, "project_code": "XM-9"},
        "/v1/projects/{pid}/inspections": INSPECTION,
        "/v1/projects/{pid}/income": INCOME,
    }
    kwargs = {"json": bodies[path]} if method == "post" else {}
    headers = auth(role, area=TOWNSHIP)
    r = await client.request(method.upper(), path.format(pid=pid), headers=headers, **kwargs)
    assert_problem(r, 403)
    assert (await _count(app, Project), len(await _outbox(app))) == (1, 1)


async def test_unknown_project_is_404(api: Any) -> None:
    _, client = api
    assert_problem(await client.get(f"/v1/projects/{UNKNOWN}", headers=OFFICE), 404)
    assert_problem(await client.post(f"/v1/projects/{UNKNOWN}/inspections", json=INSPECTION, headers=OFFICE), 404)
    assert_problem(await client.post(f"/v1/projects/{UNKNOWN}/income", json=INCOME, headers=FINANCE), 404)
    assert_problem(await client.get(f"/v1/projects/{UNKNOWN}/open-findings", headers=OFFICE), 404)
    assert_problem(await client.get("/v1/projects/not-a-uuid", headers=OFFICE), 422)


async def test_inspection_stores_and_publishes_each_problem(api: Any) -> None:
    app, client = api
    pid = await _project(client)
    inspector = auth("inspector", sub="insp-7")
    r = await client.post(f"/v1/projects/{pid}/inspections", json=INSPECTION, headers=inspector)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["project_id"] == pid
    assert [p["code"] for p in body["problems"]] == ["roof_damaged", "income_not_paid"]
    assert await _count(app, ProjectProblem) == 2
    found = [json.loads(m.payload) for m in await _outbox(app) if m.event_type.endswith("problem_found.v1")]
    assert [f["problem_id"] for f in found] == [p["id"] for p in body["problems"]]
    assert {(f["project_id"], f["area_code"], f["found_on"], f["found_by"]) for f in found} == {
        (pid, VILLAGE, "2020-05-12", "insp-7")
    }
    # The project's manager (项目负责人) answers for its problems: audit names them on the finding.
    manager = {
        "person_id": "manager-9",
        "name": "贾寨镇副镇长 张伟",
        "unit": "项目 XM-2020-001",
        "role": "project_manager",
    }
    assert [f["responsible"] for f in found] == [manager, manager]


async def test_inspection_without_problems_publishes_nothing(api: Any) -> None:
    app, client = api
    pid = await _project(client)
    own = auth("township_office", area=TOWNSHIP)
    r = await client.post(f"/v1/projects/{pid}/inspections", json={**INSPECTION, "problems": []}, headers=own)
    assert r.status_code == 201, r.text
    assert (await _count(app, ProjectInspection), len(await _outbox(app))) == (1, 1)


@pytest.mark.parametrize(
    "body",
    [
        {**INSPECTION, "inspected_on": (district_today() + timedelta(days=2)).isoformat()},
        {**INSPECTION, "inspected_on": "2020-02-29"},  # the project started on 2020-03-01
        {**INSPECTION, "problems": [{"code": "Roof Damaged", "description": "x"}]},
        {**INSPECTION, "problems": [{"code": "roof_damaged"}]},
        {**INSPECTION, "problems": [INSPECTION["problems"][0], INSPECTION["problems"][0]]},
        {**INSPECTION, "problems": "roof_damaged"},
        {k: v for k, v in INSPECTION.items() if k != "inspector"},
        {**INSPECTION, "problems": [{"code": "income_not_paid", "description": f"贫困户身份证{ID_NUMBER}未收到收益"}]},
        {**INSPECTION, "notes": f"走访 {ID_NUMBER[:6]} {ID_NUMBER[6:14]} {ID_NUMBER[14:]}"},  # typed in groups
        {**INSPECTION, "inspector": ID_NUMBER},
        {**INSPECTION, "problems": [{"code": ID_NUMBER.lower(), "description": "收益未到户"}]},
    ],
)
async def test_bad_inspection_is_422_and_changes_nothing(api: Any, body: dict[str, Any]) -> None:
    app, client = api
    pid = await _project(client)
    assert_problem(await client.post(f"/v1/projects/{pid}/inspections", json=body, headers=OFFICE), 422)
    assert (await _count(app, ProjectInspection), await _count(app, ProjectProblem)) == (0, 0)
    assert len(await _outbox(app)) == 1


async def _earning(app: Any, client: Any, pid: str) -> dict[str, Any]:
    """INCOME for an asset of the project, accepted (its acceptance is another test's) so that it earns."""
    async with app.state.sessions() as s, s.begin():
        project = await s.get(Project, UUID(pid))
        assert project is not None
        project.status = "accepted"
    asset = {
        "description": "大棚 12 座",
        "value_fen": 150_000_000,
        "owner_kind": "village_collective",
        "owner_area_code": VILLAGE,
        "operator": "合作社",
        "agreed_return_bp": 800,
        "registered_on": "2020-06-15",
    }
    r = await client.post(f"/v1/projects/{pid}/assets", json=asset, headers=OFFICE)
    assert r.status_code == 201, r.text
    return {**INCOME, "asset_id": r.json()["id"]}


async def test_income_is_recorded_once_per_asset_and_period(api: Any) -> None:
    app, client = api
    pid = await _project(client)
    income_of_asset = await _earning(app, client, pid)
    published = len(await _outbox(app))
    r = await client.post(f"/v1/projects/{pid}/income", json=income_of_asset, headers=FINANCE)
    assert r.status_code == 201, r.text
    income = r.json()
    assert (income["project_id"], income["period"], income["amount_fen"]) == (pid, "2020-06", 4_466_400)
    last = (await _outbox(app))[-1]
    assert last.event_type == "gov.poverty.projects.income_recorded.v1" and last.key == pid
    assert json.loads(last.payload) == {
        "project_id": pid,
        "income_id": income["id"],
        "period": "2020-06",
        "amount_fen": 4_466_400,
        "asset_id": income_of_asset["asset_id"],
    }
    repeat = await client.post(f"/v1/projects/{pid}/income", json={**income_of_asset, "amount_fen": 1}, headers=OFFICE)
    assert assert_problem(repeat, 409)["code"] == "income_recorded"
    assert (await _count(app, ProjectIncome), len(await _outbox(app))) == (1, published + 1)
    may = {**income_of_asset, "period": "2020-05"}
    r = await client.post(f"/v1/projects/{pid}/income", json=may, headers=FINANCE)
    assert r.status_code == 201, r.text
    assert (await _count(app, ProjectIncome), len(await _outbox(app))) == (2, published + 2)


def _next_month() -> str:
    today = district_today()
    return f"{today.year + 1}-01" if today.month == 12 else f"{today.year}-{today.month + 1:02d}"


async def test_income_for_the_month_the_project_started_is_recorded(api: Any) -> None:
    app, client = api
    pid = await _project(client)
    march = {**await _earning(app, client, pid), "period": "2020-03"}
    r = await client.post(f"/v1/projects/{pid}/income", json=march, headers=FINANCE)
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    "body",
    [
        {**INCOME, "amount_fen": 0},
        {**INCOME, "amount_fen": -5},
        {**INCOME, "amount_fen": 100.5},
        {**INCOME, "amount_fen": "100"},
        {**INCOME, "period": "2020-6"},
        {**INCOME, "period": "2020-13"},
        {**INCOME, "period": "２０２０-06"},  # full-width digits: a second June 2020 before
        {**INCOME, "period": "٢٠٢٠-06"},
        {**INCOME, "period": "0465-08"},  # recorded before: only future periods were refused
        {**INCOME, "period": "2020-02"},  # before the project started (2020-03-01): it would be shared out all the same
        {"period": _next_month(), "amount_fen": 100},
        {"period": "2020-06"},
    ],
)
async def test_bad_income_is_422_and_changes_nothing(api: Any, body: dict[str, Any]) -> None:
    app, client = api
    pid = await _project(client)
    asset = (await _earning(app, client, pid))["asset_id"]
    published = len(await _outbox(app))
    r = await client.post(f"/v1/projects/{pid}/income", json={**body, "asset_id": asset}, headers=FINANCE)
    assert_problem(r, 422)
    assert (await _count(app, ProjectIncome), len(await _outbox(app))) == (0, published)


async def test_dates_are_judged_by_the_requests_clock(api: Any) -> None:
    app, client = api
    moment = datetime(2020, 6, 30, 16, 30, tzinfo=UTC)  # 00:30 on 1 July in the district
    app.dependency_overrides[request_time] = lambda: moment
    pid = await _project(client)
    registered = (await client.get(f"/v1/projects/{pid}", headers=OFFICE)).json()
    assert datetime.fromisoformat(registered["registered_at"]) == moment
    today = {**INSPECTION, "inspected_on": "2020-07-01"}
    assert (await client.post(f"/v1/projects/{pid}/inspections", json=today, headers=OFFICE)).status_code == 201
    tomorrow = {**INSPECTION, "inspected_on": "2020-07-02"}
    refused = assert_problem(await client.post(f"/v1/projects/{pid}/inspections", json=tomorrow, headers=OFFICE), 422)
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("body.inspected_on", "in_future")]
    earning = await _earning(app, client, pid)
    income = await client.post(f"/v1/projects/{pid}/income", json={**earning, "period": "2020-07"}, headers=FINANCE)
    assert income.status_code == 201 and datetime.fromisoformat(income.json()["recorded_at"]) == moment
    next_month = {**earning, "period": "2020-08"}
    refused = assert_problem(await client.post(f"/v1/projects/{pid}/income", json=next_month, headers=FINANCE), 422)
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("body.period", "period_not_begun")]
    far_ahead = {**PROJECT, "project_code": "XM-2020-002", "started_on": "2021-07-03"}  # today + 367 days
    refused = assert_problem(await client.post("/v1/projects", json=far_ahead, headers=OFFICE), 422)
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("body.started_on", "start_too_late")]


def _finding(subject_id: str, kind: SubjectKind = SubjectKind.PROJECT) -> FindingRecorded:
    return FindingRecorded(
        finding_id=uuid4(),
        subject_kind=kind,
        subject_id=subject_id,
        area_code=VILLAGE,
        category=ProblemCategory.PROJECT,
        code="roof_damaged",
        severity=Severity.GENERAL,
        description="棚膜破损",
    )


async def test_audit_events_keep_the_open_findings_of_a_project(api: Any) -> None:
    app, client = api
    pid = await _project(client)
    finding = _finding(pid)
    await apply_event(app, finding)
    await apply_event(app, finding)  # audit may re-send a finding: still one open finding
    deadline = datetime(2020, 6, 12, tzinfo=UTC)
    ids = {"finding_id": finding.finding_id, "subject_kind": SubjectKind.PROJECT, "subject_id": pid}
    owner = f"township_office:{TOWNSHIP}"
    await apply_event(app, RectificationOpened(**ids, task_id=uuid4(), owner=owner, deadline=deadline))
    await apply_event(app, DisciplineReferralMade(**ids, referral_id=uuid4(), reason="overdue_rectification"))
    r = await client.get(f"/v1/projects/{pid}/open-findings", headers=auth("discipline_commission"))
    assert r.status_code == 200, r.text
    [open_finding] = r.json()["items"]
    assert open_finding["finding_id"] == str(finding.finding_id) and open_finding["code"] == "roof_damaged"
    assert open_finding["referred"] is True
    assert datetime.fromisoformat(open_finding["rectification_deadline"]) == deadline


async def test_a_rescheduled_rejected_or_reopened_task_moves_the_deadline_and_closing_removes_it(api: Any) -> None:
    app, client = api
    pid = await _project(client)
    finding = _finding(pid)
    await apply_event(app, finding)
    ids = {"finding_id": finding.finding_id, "subject_kind": SubjectKind.PROJECT, "subject_id": pid}
    task, first, later = uuid4(), datetime(2020, 6, 12, tzinfo=UTC), datetime(2020, 7, 1, tzinfo=UTC)

    async def deadline() -> datetime:
        r = await client.get(f"/v1/projects/{pid}/open-findings", headers=auth("discipline_commission"))
        return datetime.fromisoformat(r.json()["items"][0]["rectification_deadline"])

    await apply_event(
        app,
        RectificationRescheduled(
            **ids,
            task_id=task,
            previous_deadline=first,
            deadline=later,
            changed_by="district_office:1",
        ),
    )
    assert await deadline() == later
    rejected_at = datetime(2020, 7, 15, tzinfo=UTC)
    await apply_event(
        app,
        RectificationRejected(
            **ids,
            task_id=task,
            check_id=uuid4(),
            checked_by="inspector-2",
            deadline=rejected_at,
        ),
    )
    assert await deadline() == rejected_at
    found_again_at = datetime(2020, 8, 3, tzinfo=UTC)
    reopened = RectificationReopened(
        **ids, task_id=task, previous_status="verified", occurrences=2, deadline=found_again_at
    )
    await apply_event(app, reopened)
    assert await deadline() == found_again_at
    await apply_event(app, RectificationClosed(**ids, task_id=task, closed_by="inspector-2"))
    r = await client.get(f"/v1/projects/{pid}/open-findings", headers=auth("discipline_commission"))
    assert r.json() == {"items": [], "next_cursor": None}


async def test_audit_events_arriving_late_never_reopen_a_finding_nor_bring_back_an_older_deadline(api: Any) -> None:
    app, client = api
    pid = await _project(client)

    async def open_findings() -> list[dict[str, Any]]:
        r = await client.get(f"/v1/projects/{pid}/open-findings", headers=auth("discipline_commission"))
        return list(r.json()["items"])

    def about(finding: FindingRecorded) -> dict[str, Any]:
        return {"finding_id": finding.finding_id, "subject_kind": SubjectKind.PROJECT, "subject_id": pid}

    replayed = _finding(pid)  # closed before its recording arrives (replayed from a dead-letter topic)
    await apply_event(app, RectificationClosed(**about(replayed), task_id=uuid4(), closed_by="inspector-2"))
    await apply_event(app, replayed, at=datetime(2020, 5, 1, tzinfo=UTC))
    assert await open_findings() == []
    again = _finding(pid)  # recorded, closed, then recorded again
    await apply_event(app, again)
    await apply_event(app, RectificationClosed(**about(again), task_id=uuid4(), closed_by="inspector-2"))
    await apply_event(app, again)
    assert await open_findings() == []
    kept = _finding(pid)  # a newer deadline, then an older change arriving late
    await apply_event(app, kept, at=datetime(2020, 6, 1, tzinfo=UTC))
    newer, older = datetime(2020, 8, 1, tzinfo=UTC), datetime(2020, 7, 1, tzinfo=UTC)
    check = {"task_id": uuid4(), "check_id": uuid4(), "checked_by": "inspector-2"}
    await apply_event(
        app, RectificationRejected(**about(kept), **check, deadline=newer), at=datetime(2020, 7, 20, tzinfo=UTC)
    )
    moved = RectificationRescheduled(
        **about(kept), task_id=uuid4(), previous_deadline=newer, deadline=older, changed_by="district_office:1"
    )
    await apply_event(app, moved, at=datetime(2020, 6, 10, tzinfo=UTC))
    [finding] = await open_findings()
    assert datetime.fromisoformat(finding["rectification_deadline"]) == newer


async def test_a_repeat_found_worse_raises_the_open_findings_severity(api: Any) -> None:
    app, client = api
    pid = await _project(client)
    finding = _finding(pid)
    await apply_event(app, finding)
    ids = {"finding_id": finding.finding_id, "subject_kind": SubjectKind.PROJECT, "subject_id": pid}

    async def severity() -> str:
        r = await client.get(f"/v1/projects/{pid}/open-findings", headers=auth("discipline_commission"))
        return str(r.json()["items"][0]["severity"])

    await apply_event(app, FindingRecurred(**ids, occurrences=2))
    assert await severity() == "general"
    await apply_event(app, FindingRecurred(**ids, occurrences=3, severity=Severity.SEVERE))
    assert await severity() == "severe"


async def test_audit_events_about_other_subjects_are_ignored(api: Any) -> None:
    app, _ = api
    household_finding = _finding(str(uuid4()), SubjectKind.HOUSEHOLD)
    await apply_event(app, household_finding)
    ids = {
        "finding_id": household_finding.finding_id,
        "subject_kind": SubjectKind.HOUSEHOLD,
        "subject_id": household_finding.subject_id,
    }
    await apply_event(app, DisciplineReferralMade(**ids, referral_id=uuid4(), reason="severe_finding"))
    untracked = {"finding_id": uuid4(), "subject_kind": SubjectKind.PROJECT, "subject_id": str(uuid4())}
    await apply_event(
        app,
        RectificationOpened(
            **untracked,
            task_id=uuid4(),
            owner="township_office:371523101",
            deadline=datetime.now(UTC),
        ),
    )
    assert await _count(app, ProjectOpenFinding) == 0


async def test_open_findings_follow_the_reader_scope(api: Any) -> None:
    app, client = api
    pid = await _project(client)
    await apply_event(app, _finding(pid))
    elsewhere = auth("township_office", area="371523105")
    assert_problem(await client.get(f"/v1/projects/{pid}/open-findings", headers=elsewhere), 403)
    own = await client.get(f"/v1/projects/{pid}/open-findings", headers=auth("village_cadre", area=VILLAGE))
    assert own.status_code == 200 and len(own.json()["items"]) == 1
    assert UUID(own.json()["items"][0]["finding_id"])


async def test_an_inspection_publishes_each_problem_with_the_severity_the_inspector_chose(api: Any) -> None:
    app, client = api
    pid = await _project(client)
    problems = [
        {"code": "asset_missing", "description": "光伏板缺失 20 块", "severity": "severe"},
        {"code": "roof_damaged", "description": "大棚棚膜破损"},
    ]
    r = await client.post(f"/v1/projects/{pid}/inspections", json={**INSPECTION, "problems": problems}, headers=OFFICE)
    assert r.status_code == 201, r.text
    reported = [("asset_missing", "severe"), ("roof_damaged", None)]
    assert [(p["code"], p["severity"]) for p in r.json()["problems"]] == reported
    found = [json.loads(m.payload) for m in await _outbox(app) if m.event_type.endswith("problem_found.v1")]
    assert [(f["code"], f["severity"]) for f in found] == reported
    async with app.state.sessions() as s:
        kept = (await s.scalars(select(ProjectProblem).order_by(col(ProjectProblem.code)))).all()
    assert [(p.severity, p.origin, str(p.inspection_id)) for p in kept] == [
        ("severe", "inspection", r.json()["id"]),
        (None, "inspection", r.json()["id"]),
    ]
    listed = (await client.get(f"/v1/projects/{pid}/inspections", headers=OFFICE)).json()["items"]
    assert [(p["code"], p["severity"]) for p in listed[0]["problems"]] == reported
    wrong = {**INSPECTION, "problems": [{**problems[0], "severity": "fatal"}]}
    assert_problem(await client.post(f"/v1/projects/{pid}/inspections", json=wrong, headers=OFFICE), 422)
    assert await _count(app, ProjectInspection) == 1

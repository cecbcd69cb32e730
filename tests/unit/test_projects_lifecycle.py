"""A project's life on a migrated SQLite file: registration with its manager, the moves (who may make each and what
each needs), construction milestones, acceptance (验收) by someone other than the manager, contracts; every refusal
changes nothing.

The flows here (`register`, `approved`, `completed`, `accepted`...) are used by the other project tests too."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlmodel import col

from services.projects.models import (
    Project,
    ProjectAcceptance,
    ProjectAsset,
    ProjectContract,
    ProjectMilestone,
    ProjectProblem,
    ProjectStatusChange,
)
from services.projects.schemas.projects import ProjectCreate
from shared.api.clock import request_time
from shared.messaging.outbox import OutboxMessage
from tests.support import assert_problem, auth, running_app

TOWNSHIP = "371523101"
MANAGER = "manager-9"
OFFICE = auth("district_office", sub="director-1")
TOWNSHIP_OFFICE = auth("township_office", area=TOWNSHIP, sub="township-2")
FINANCE = auth("finance_officer", sub="cashier-3")
INSPECTOR = auth("inspector", sub="inspector-4")
READER = auth("auditor", sub="auditor-5")
# Started 2020-03-01 in village 371523101201, to be accepted by 2020-08-31.
PROJECT = {**ProjectCreate.example, "manager_id": MANAGER}
STATUS_CHANGED = "gov.poverty.projects.status_changed.v1"
PROBLEM_FOUND = "gov.poverty.projects.problem_found.v1"


class Clock:
    """The request clock of the tests: 1 July 2020 in the district unless moved."""

    def __init__(self) -> None:
        self.on(date(2020, 7, 1))

    def on(self, day: date) -> None:
        self.now = datetime(day.year, day.month, day.day, 2, tzinfo=UTC)


Running = tuple[FastAPI, httpx.AsyncClient, Clock]


@asynccontextmanager
async def service(url: str) -> AsyncIterator[Running]:
    clock = Clock()
    async with running_app("projects", url) as (app, client):
        app.dependency_overrides[request_time] = lambda: clock.now
        yield app, client, clock


@pytest.fixture
async def api(sqlite_url: Any) -> AsyncIterator[Running]:
    async with service(await sqlite_url("projects")) as running:
        yield running


# --- Flows ----------------------------------------------------------------------------------------------------------


async def register(client: httpx.AsyncClient, **changes: Any) -> str:
    r = await client.post("/v1/projects", json={**PROJECT, **changes}, headers=OFFICE)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def allocate(
    client: httpx.AsyncClient, *, source: str = "district", year: int = 2020, amount_fen: int = 100_000_000
) -> str:
    body = {
        "source": source,
        "year": year,
        "document_no": f"{source}-{year}-{uuid4().hex[:6]}",
        "amount_fen": amount_fen,
    }
    r = await client.post("/v1/fund-allocations", json=body, headers=FINANCE)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def draw(client: httpx.AsyncClient, project: str, line: str, amount_fen: int) -> httpx.Response:
    body = {"allocation_id": line, "amount_fen": amount_fen}
    return await client.post(f"/v1/projects/{project}/funding", json=body, headers=FINANCE)


async def move(
    client: httpx.AsyncClient, project: str, to_status: str, on: str, headers: dict[str, str] = OFFICE, **extra: Any
) -> httpx.Response:
    body = {"to_status": to_status, "effective_on": on, **extra}
    return await client.post(f"/v1/projects/{project}/transitions", json=body, headers=headers)


async def moved(client: httpx.AsyncClient, project: str, to_status: str, on: str) -> None:
    r = await move(client, project, to_status, on)
    assert r.status_code == 201, r.text


async def approved(client: httpx.AsyncClient, **changes: Any) -> str:
    """A project registered, drawing 1,500,000 yuan on a district line of its own, approved on 2020-03-10."""
    project = await register(client, **changes)
    line = await allocate(client, amount_fen=150_000_000)
    assert (await draw(client, project, line, 150_000_000)).status_code == 201
    await moved(client, project, "approved", "2020-03-10")
    return project


async def completed(client: httpx.AsyncClient, **changes: Any) -> str:
    """Built from 2020-03-15, completed on 2020-06-10."""
    project = await approved(client, **changes)
    await moved(client, project, "under_construction", "2020-03-15")
    await moved(client, project, "completed", "2020-06-10")
    return project


async def accept(client: httpx.AsyncClient, project: str, **changes: Any) -> httpx.Response:
    body = {"accepted_on": "2020-06-20", "officer_name": "验收组 李强", "passed": True, **changes}
    return await client.post(f"/v1/projects/{project}/acceptances", json=body, headers=INSPECTOR)


async def accepted(client: httpx.AsyncClient, **changes: Any) -> str:
    """Accepted on 2020-06-20 by an inspector."""
    project = await completed(client, **changes)
    r = await accept(client, project)
    assert r.status_code == 201, r.text
    return project


async def with_asset(app: FastAPI, project: str) -> None:
    """An asset registered to the project (as `POST /v1/projects/{id}/assets` keeps it)."""
    async with app.state.sessions() as session, session.begin():
        session.add(
            ProjectAsset(
                project_id=UUID(project),
                description="大棚 12 座",
                value_fen=150_000_000,
                owner_kind="village_collective",
                owner_area_code="371523101201",
                operator="合作社",
                agreed_return_bp=800,
                registered_on=date(2020, 6, 25),
                registered_by="director-1",
                registered_at=datetime(2020, 6, 25, tzinfo=UTC),
            )
        )


async def count(app: FastAPI, model: Any) -> int:
    async with app.state.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def published(app: FastAPI, event_type: str) -> list[dict[str, Any]]:
    async with app.state.sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(col(OutboxMessage.event_type) == event_type).order_by(col(OutboxMessage.id))
        )
        return [json.loads(row.payload) for row in rows.all()]


async def status_of(client: httpx.AsyncClient, project: str) -> str:
    return str((await client.get(f"/v1/projects/{project}", headers=READER)).json()["status"])


# --- Registration ---------------------------------------------------------------------------------------------------


async def test_a_new_project_is_planned_with_its_manager(api: Running) -> None:
    _, client, clock = api
    r = await client.post("/v1/projects", json=PROJECT, headers=OFFICE)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["status"], body["manager_id"], body["manager_name"]) == ("planned", MANAGER, PROJECT["manager_name"])
    assert (body["acceptance_due_on"], body["overdue"]) == ("2020-08-31", False)
    assert datetime.fromisoformat(body["status_changed_at"]) == clock.now
    assert (await client.get(f"/v1/projects/{body['id']}", headers=READER)).json() == body
    assert (await client.get(f"/v1/projects/{body['id']}/history", headers=READER)).json()["items"] == []


@pytest.mark.parametrize(
    "changes",
    [
        {"manager_id": None},
        {"manager_name": None},
        {"manager_id": ""},
        {"manager_id": "m" * 101},
        {"manager_name": "负责人 11010519491231002X"},
        {"acceptance_due_on": "2020-02-29"},  # before the start (2020-03-01)
        {"acceptance_due_on": 1598832000},
    ],
)
async def test_a_registration_names_its_manager_and_a_sensible_acceptance_day(
    api: Running, changes: dict[str, Any]
) -> None:
    app, client, _ = api
    body = {k: v for k, v in {**PROJECT, **changes}.items() if v is not None}
    assert_problem(await client.post("/v1/projects", json=body, headers=OFFICE), 422)
    assert (await count(app, Project), await count(app, OutboxMessage)) == (0, 0)


# --- Moves ------------------------------------------------------------------------------------------------------------


async def test_a_project_lives_from_planned_to_closed_each_step_kept_and_published(api: Running) -> None:
    app, client, _ = api
    project = await accepted(client)
    await with_asset(app, project)
    r = await move(client, project, "operating", "2020-06-30", headers=TOWNSHIP_OFFICE, note="合作社经营")
    assert r.status_code == 201, r.text
    assert (r.json()["from_status"], r.json()["to_status"], r.json()["note"]) == ("accepted", "operating", "合作社经营")
    await moved(client, project, "closed", "2020-07-01")
    assert await status_of(client, project) == "closed"
    history = (await client.get(f"/v1/projects/{project}/history", headers=READER)).json()["items"]
    steps = [(h["from_status"], h["to_status"], h["effective_on"], h["changed_by"]) for h in history]
    assert steps == [
        ("planned", "approved", "2020-03-10", "director-1"),
        ("approved", "under_construction", "2020-03-15", "director-1"),
        ("under_construction", "completed", "2020-06-10", "director-1"),
        ("completed", "accepted", "2020-06-20", "inspector-4"),
        ("accepted", "operating", "2020-06-30", "township-2"),
        ("operating", "closed", "2020-07-01", "director-1"),
    ]
    events = await published(app, STATUS_CHANGED)
    assert [(e["from_status"], e["to_status"], e["effective_on"], e["changed_by"]) for e in events] == steps
    assert {(e["project_id"], e["area_code"]) for e in events} == {(project, "371523101201")}


@pytest.mark.parametrize(
    ("to_status", "from_status"),
    [("under_construction", "planned"), ("completed", "planned"), ("planned", "planned"), ("accepted", "completed")],
)
async def test_a_move_outside_the_life_is_refused_naming_both_ends(
    api: Running, to_status: str, from_status: str
) -> None:
    app, client, _ = api
    project = await (completed(client) if from_status == "completed" else register(client))
    before = (await count(app, ProjectStatusChange), await count(app, OutboxMessage))
    problem = assert_problem(await move(client, project, to_status, "2020-06-30"), 409)
    assert (problem["code"], problem["from_status"], problem["to_status"]) == (
        "transition_not_allowed",
        from_status,
        to_status,
    )
    assert (await count(app, ProjectStatusChange), await count(app, OutboxMessage)) == before
    assert await status_of(client, project) == from_status


async def test_each_move_is_made_by_whom_it_belongs_to(api: Running) -> None:
    app, client, _ = api
    project = await register(client)
    line = await allocate(client)
    assert (await draw(client, project, line, 1_000)).status_code == 201
    refused = assert_problem(await move(client, project, "approved", "2020-03-10", headers=TOWNSHIP_OFFICE), 403)
    assert refused["code"] == "transition_role"
    assert_problem(await move(client, project, "approved", "2020-03-10", headers=FINANCE), 403)
    assert await status_of(client, project) == "planned"
    await moved(client, project, "approved", "2020-03-10")
    elsewhere = auth("township_office", area="371523105", sub="township-9")
    assert_problem(await move(client, project, "under_construction", "2020-03-15", headers=elsewhere), 403)
    r = await move(client, project, "under_construction", "2020-03-15", headers=TOWNSHIP_OFFICE)
    assert r.status_code == 201, r.text
    assert await count(app, ProjectStatusChange) == 2


async def test_approval_needs_funding_and_the_day_of_acceptance(api: Running) -> None:
    app, client, _ = api
    project = await register(client, acceptance_due_on=None)
    problem = assert_problem(await move(client, project, "approved", "2020-03-10"), 422)
    assert [e["code"] for e in problem["errors"]] == ["acceptance_due_required"]
    problem = assert_problem(await move(client, project, "approved", "2020-03-10", acceptance_due_on="2020-08-31"), 409)
    assert problem["code"] == "no_funding"
    line = await allocate(client)
    assert (await draw(client, project, line, 5_000_000)).status_code == 201
    early = await move(client, project, "approved", "2020-03-10", acceptance_due_on="2020-03-09")
    assert [e["code"] for e in assert_problem(early, 422)["errors"]] == ["due_before_approval"]
    assert await count(app, ProjectStatusChange) == 0
    again = await move(client, project, "approved", "2020-03-10")  # the day a refused move carried was not kept
    assert [e["code"] for e in assert_problem(again, 422)["errors"]] == ["acceptance_due_required"]
    project_read = (await client.get(f"/v1/projects/{project}", headers=READER)).json()
    assert (project_read["acceptance_due_on"], project_read["status"]) == (None, "planned")


async def test_a_move_carries_the_day_of_acceptance_only_on_approval(api: Running) -> None:
    _, client, _ = api
    project = await register(client, acceptance_due_on=None)
    line = await allocate(client)
    assert (await draw(client, project, line, 5_000_000)).status_code == 201
    r = await move(client, project, "approved", "2020-03-10", acceptance_due_on="2020-09-30")
    assert r.status_code == 201, r.text
    assert (await client.get(f"/v1/projects/{project}", headers=READER)).json()["acceptance_due_on"] == "2020-09-30"
    later = await move(client, project, "under_construction", "2020-03-15", acceptance_due_on="2020-12-31")
    assert [e["code"] for e in assert_problem(later, 422)["errors"]] == ["not_on_this_transition"]
    assert await status_of(client, project) == "approved"


async def test_a_step_is_dated_today_or_earlier_and_not_before_the_last(api: Running) -> None:
    app, client, clock = api
    project = await approved(client)
    clock.on(date(2020, 3, 14))
    ahead = await move(client, project, "under_construction", "2020-03-15")
    assert [(e["field"], e["code"]) for e in assert_problem(ahead, 422)["errors"]] == [
        ("body.effective_on", "in_future")
    ]
    behind = await move(client, project, "under_construction", "2020-03-09")  # approved on 2020-03-10
    assert [e["code"] for e in assert_problem(behind, 422)["errors"]] == ["before_last_change"]
    assert await count(app, ProjectStatusChange) == 1
    await moved(client, project, "under_construction", "2020-03-10")  # the same day as the last step: it may


async def test_completion_needs_every_milestone_completed(api: Running) -> None:
    _, client, _ = api
    project = await approved(client)
    first, second = [
        await add_milestone(client, project, name, due)
        for name, due in (("钢架", "2020-04-30"), ("棚膜", "2020-05-31"))
    ]
    await moved(client, project, "under_construction", "2020-03-15")
    await complete_milestone(client, project, first, "2020-04-28")
    problem = assert_problem(await move(client, project, "completed", "2020-06-10"), 409)
    assert problem["code"] == "milestones_open"
    assert await status_of(client, project) == "under_construction"
    await complete_milestone(client, project, second, "2020-06-01")
    await moved(client, project, "completed", "2020-06-10")


async def test_operation_needs_a_registered_asset(api: Running) -> None:
    app, client, _ = api
    project = await accepted(client)
    assert assert_problem(await move(client, project, "operating", "2020-06-30"), 409)["code"] == "no_assets"
    await with_asset(app, project)
    await moved(client, project, "operating", "2020-06-30")
    closing = await move(client, project, "closed", "2020-07-01", headers=TOWNSHIP_OFFICE)
    assert assert_problem(closing, 403)["code"] == "transition_role"
    assert await status_of(client, project) == "operating"


@pytest.mark.parametrize(
    "body",
    [
        {"to_status": "finished", "effective_on": "2020-03-10"},
        {"to_status": "approved"},
        {"to_status": "approved", "effective_on": "10/03/2020"},
        {"to_status": "approved", "effective_on": "2020-03-10", "note": "批复 11010519491231002X"},
        {"to_status": "approved", "effective_on": "2020-03-10", "by": "someone"},
    ],
)
async def test_a_malformed_move_is_422_and_changes_nothing(api: Running, body: dict[str, Any]) -> None:
    app, client, _ = api
    project = await register(client)
    line = await allocate(client)
    assert (await draw(client, project, line, 1_000)).status_code == 201
    assert_problem(await client.post(f"/v1/projects/{project}/transitions", json=body, headers=OFFICE), 422)
    assert (await count(app, ProjectStatusChange), await status_of(client, project)) == (0, "planned")


async def test_a_move_retried_with_its_key_is_made_once(api: Running) -> None:
    app, client, _ = api
    project = await register(client)
    line = await allocate(client)
    assert (await draw(client, project, line, 1_000)).status_code == 201
    body = {"to_status": "approved", "effective_on": "2020-03-10"}
    keyed = {**OFFICE, "Idempotency-Key": "approve-xm-2020-001"}
    first = await client.post(f"/v1/projects/{project}/transitions", json=body, headers=keyed)
    again = await client.post(f"/v1/projects/{project}/transitions", json=body, headers=keyed)
    assert (first.status_code, again.status_code, again.json()) == (201, 200, first.json())
    assert (await count(app, ProjectStatusChange), len(await published(app, STATUS_CHANGED))) == (1, 1)


# --- Milestones -------------------------------------------------------------------------------------------------------


async def add_milestone(client: httpx.AsyncClient, project: str, name: str, due_on: str) -> str:
    body = {"name": name, "due_on": due_on}
    r = await client.post(f"/v1/projects/{project}/milestones", json=body, headers=TOWNSHIP_OFFICE)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def report(client: httpx.AsyncClient, project: str, milestone: str, **body: Any) -> httpx.Response:
    return await client.patch(f"/v1/projects/{project}/milestones/{milestone}", json=body, headers=TOWNSHIP_OFFICE)


async def complete_milestone(client: httpx.AsyncClient, project: str, milestone: str, on: str) -> None:
    r = await report(client, project, milestone, completed_on=on)
    assert r.status_code == 200, r.text


async def test_milestones_are_planned_for_a_project_approved_or_being_built(api: Running) -> None:
    app, client, _ = api
    planned = await register(client, project_code="XM-2020-002")
    body = {"name": "钢架", "due_on": "2020-04-30"}
    refused = assert_problem(await client.post(f"/v1/projects/{planned}/milestones", json=body, headers=OFFICE), 409)
    assert (refused["code"], refused["project_status"]) == ("project_state", "planned")
    project = await approved(client)
    early = await client.post(
        f"/v1/projects/{project}/milestones", json={**body, "due_on": "2020-02-01"}, headers=OFFICE
    )
    assert [e["code"] for e in assert_problem(early, 422)["errors"]] == ["before_project_start"]
    assert_problem(await client.post(f"/v1/projects/{project}/milestones", json=body, headers=FINANCE), 403)
    assert await count(app, ProjectMilestone) == 0
    later = await add_milestone(client, project, "棚膜", "2020-05-31")
    sooner = await add_milestone(client, project, "钢架", "2020-04-30")
    await moved(client, project, "under_construction", "2020-03-15")
    third = await add_milestone(client, project, "灌溉", "2020-05-31")
    listed = (await client.get(f"/v1/projects/{project}/milestones", headers=READER, params={"limit": 2})).json()
    rest = await client.get(
        f"/v1/projects/{project}/milestones", headers=READER, params={"cursor": listed["next_cursor"]}
    )
    ids = [m["id"] for m in listed["items"] + rest.json()["items"]]
    assert ids[0] == sooner and set(ids[1:]) == {later, third} and rest.json()["next_cursor"] is None
    assert {(m["progress_pct"], m["completed_on"]) for m in listed["items"]} == {(0, None)}


async def test_progress_is_reported_as_it_stands_and_a_completion_day_completes(api: Running) -> None:
    _, client, _ = api
    project = await approved(client)
    milestone = await add_milestone(client, project, "钢架", "2020-04-30")
    r = await report(client, project, milestone, progress_pct=40)
    assert (r.status_code, r.json()["progress_pct"], r.json()["updated_by"]) == (200, 40, "township-2")
    assert (await report(client, project, milestone, progress_pct=40)).status_code == 200  # as it stands: the same
    refusals: dict[str, dict[str, Any]] = {
        "progress_back": {"progress_pct": 30},
        "completed_on_required": {"progress_pct": 100},
        "progress_below_complete": {"progress_pct": 90, "completed_on": "2020-04-28"},
        "in_future": {"completed_on": "2020-07-02"},
        "before_project_start": {"completed_on": "2020-02-28"},
        "nothing_to_update": {},
        "less_than_equal": {"progress_pct": 101},
    }
    for code, body in refusals.items():
        problem = assert_problem(await report(client, project, milestone, **body), 422)
        assert [e["code"] for e in problem["errors"]] == [code], body
    done = await report(client, project, milestone, completed_on="2020-04-28")
    assert (done.json()["progress_pct"], done.json()["completed_on"]) == (100, "2020-04-28")
    again = await report(client, project, milestone, completed_on="2020-04-29")
    assert assert_problem(again, 409)["code"] == "milestone_completed"
    [listed] = (await client.get(f"/v1/projects/{project}/milestones", headers=READER)).json()["items"]
    assert (listed["progress_pct"], listed["completed_on"]) == (100, "2020-04-28")


async def test_a_milestone_is_reported_on_through_its_own_project(api: Running) -> None:
    _, client, _ = api
    project = await approved(client)
    other = await approved(client, project_code="XM-2020-002")
    milestone = await add_milestone(client, project, "钢架", "2020-04-30")
    assert_problem(await report(client, other, milestone, progress_pct=10), 404)
    assert_problem(await report(client, project, str(uuid4()), progress_pct=10), 404)
    await moved(client, project, "under_construction", "2020-03-15")
    await complete_milestone(client, project, milestone, "2020-04-28")
    await moved(client, project, "completed", "2020-06-10")
    late = await client.post(
        f"/v1/projects/{project}/milestones", json={"name": "补充", "due_on": "2020-06-30"}, headers=OFFICE
    )
    assert assert_problem(late, 409)["code"] == "project_state"


# --- Acceptance (验收) ------------------------------------------------------------------------------------------------

FENCE = {"code": "fence_missing", "description": "大棚四周围栏未建", "severity": "general"}
FILM = {"code": "film_torn", "description": "棚膜破损"}


async def test_the_manager_never_accepts_their_own_project(api: Running) -> None:
    app, client, _ = api
    project = await completed(client)
    body = {"accepted_on": "2020-06-20", "officer_name": "张伟", "passed": True}
    for spelled in (MANAGER, MANAGER.upper(), MANAGER.title()):  # one person however the subject is written
        own = auth("inspector", sub=spelled)
        refused = await client.post(f"/v1/projects/{project}/acceptances", json=body, headers=own)
        assert assert_problem(refused, 403)["code"] == "separation_of_duties"
    as_office = await client.post(
        f"/v1/projects/{project}/acceptances", json=body, headers=auth("district_office", sub=MANAGER)
    )
    assert assert_problem(as_office, 403)["code"] == "separation_of_duties"
    assert_problem(await client.post(f"/v1/projects/{project}/acceptances", json=body, headers=TOWNSHIP_OFFICE), 403)
    assert (await count(app, ProjectAcceptance), await status_of(client, project)) == (0, "completed")


async def test_a_passed_acceptance_accepts_the_project_and_reports_what_it_found(api: Running) -> None:
    app, client, _ = api
    project = await completed(client)
    r = await accept(client, project, findings=[FENCE])
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["passed"], body["officer_id"], body["officer_name"]) == (True, "inspector-4", "验收组 李强")
    [finding] = body["findings"]
    assert (finding["code"], finding["severity"]) == ("fence_missing", "general")
    assert await status_of(client, project) == "accepted"
    [problem] = await published(app, PROBLEM_FOUND)
    assert (problem["problem_id"], problem["code"], problem["severity"]) == (
        finding["problem_id"],
        "fence_missing",
        "general",
    )
    assert (problem["found_on"], problem["found_by"]) == ("2020-06-20", "inspector-4")
    async with app.state.sessions() as session:
        kept = await session.get(ProjectProblem, UUID(finding["problem_id"]))
    assert kept is not None and (kept.origin, kept.inspection_id, kept.severity) == ("acceptance", None, "general")
    assert (await published(app, STATUS_CHANGED))[-1]["to_status"] == "accepted"
    again = await accept(client, project)
    assert assert_problem(again, 409)["code"] == "project_state"


async def test_a_failed_acceptance_leaves_the_project_completed_with_its_findings_reported(api: Running) -> None:
    app, client, _ = api
    project = await completed(client)
    failed = await accept(client, project, passed=False, findings=[FENCE, {**FILM, "severity": "serious"}])
    assert failed.status_code == 201, failed.text
    assert await status_of(client, project) == "completed"
    problems = await published(app, PROBLEM_FOUND)
    assert {(p["code"], p["severity"]) for p in problems} == {("fence_missing", "general"), ("film_torn", "serious")}
    assert len(await published(app, STATUS_CHANGED)) == 3  # approved, under construction, completed: no more
    r = await client.post(
        f"/v1/projects/{project}/acceptances",
        json={"accepted_on": "2020-06-30", "officer_name": "复验 王芳", "passed": True},
        headers=OFFICE,
    )
    assert r.status_code == 201, r.text
    listed = (await client.get(f"/v1/projects/{project}/acceptances", headers=READER)).json()["items"]
    assert [(a["accepted_on"], a["passed"], len(a["findings"])) for a in listed] == [
        ("2020-06-30", True, 0),
        ("2020-06-20", False, 2),
    ]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"passed": False}, "findings_required"),
        ({"passed": False, "findings": [FILM, FILM]}, "repeated_problem_code"),
        ({"accepted_on": "2020-07-02"}, "in_future"),
        ({"accepted_on": "2020-06-09"}, "before_last_change"),  # completed on 2020-06-10
        ({"findings": [{**FILM, "severity": "fatal"}]}, "enum"),
        ({"findings": [{**FILM, "code": "Film Torn"}]}, "string_pattern_mismatch"),
        ({"findings": [{**FILM, "code": "371523196001010010"}]}, "value_error"),  # an ID-card number is no code
        ({"officer_name": ""}, "too_short"),
    ],
)
async def test_a_bad_acceptance_is_422_and_changes_nothing(api: Running, changes: dict[str, Any], code: str) -> None:
    app, client, _ = api
    project = await completed(client)
    before = await count(app, OutboxMessage)
    problem = assert_problem(await accept(client, project, **changes), 422)
    assert code in [e["code"] for e in problem["errors"]]
    assert (await count(app, ProjectAcceptance), await count(app, ProjectProblem)) == (0, 0)
    assert (await count(app, OutboxMessage), await status_of(client, project)) == (before, "completed")


async def test_only_a_completed_project_is_accepted(api: Running) -> None:
    app, client, _ = api
    project = await approved(client)
    refused = assert_problem(await accept(client, project), 409)
    assert (refused["code"], refused["project_status"]) == ("project_state", "approved")
    assert await count(app, ProjectAcceptance) == 0


# --- Contracts --------------------------------------------------------------------------------------------------------

INSURANCE = {
    "kind": "insurance",
    "provider": "人保财险",
    "cost_fen": 360_000,
    "starts_on": "2019-07-01",
    "expires_on": "2020-06-30",
}
MAINTENANCE = {
    "kind": "maintenance",
    "provider": "光伏运维公司",
    "cost_fen": 1_200_000,
    "starts_on": "2020-07-01",
    "expires_on": "2021-06-30",
}


async def test_contracts_are_kept_with_their_cost_and_whether_they_expired(api: Running) -> None:
    app, client, clock = api
    project = await accepted(client)
    for body in (MAINTENANCE, INSURANCE):
        r = await client.post(f"/v1/projects/{project}/contracts", json=body, headers=TOWNSHIP_OFFICE)
        assert r.status_code == 201, r.text
    listed = (await client.get(f"/v1/projects/{project}/contracts", headers=READER)).json()["items"]
    assert [(c["kind"], c["cost_fen"], c["expired"]) for c in listed] == [
        ("insurance", 360_000, True),  # 2020-06-30 was its last day; it is 2020-07-01
        ("maintenance", 1_200_000, False),
    ]
    clock.on(date(2020, 6, 30))
    listed = (await client.get(f"/v1/projects/{project}/contracts", headers=READER)).json()["items"]
    assert [c["expired"] for c in listed] == [False, False]
    assert await count(app, ProjectContract) == 2


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"expires_on": "2020-07-01"}, "expires_before_start"),
        ({"expires_on": "2020-06-01"}, "expires_before_start"),
        ({"cost_fen": -1}, "greater_than_equal"),
        ({"cost_fen": 1.5}, "int_type"),
        ({"kind": "lease"}, "enum"),
        ({"provider": "户主 11010519491231002X"}, "value_error"),
    ],
)
async def test_a_bad_contract_is_422_and_changes_nothing(api: Running, changes: dict[str, Any], code: str) -> None:
    app, client, _ = api
    project = await accepted(client)
    r = await client.post(f"/v1/projects/{project}/contracts", json={**MAINTENANCE, **changes}, headers=OFFICE)
    assert code in [e["code"] for e in assert_problem(r, 422)["errors"]]
    assert await count(app, ProjectContract) == 0


async def test_a_closed_project_takes_out_no_contract(api: Running) -> None:
    app, client, _ = api
    project = await accepted(client)
    await with_asset(app, project)
    await moved(client, project, "operating", "2020-06-30")
    await moved(client, project, "closed", "2020-07-01")
    r = await client.post(f"/v1/projects/{project}/contracts", json=MAINTENANCE, headers=OFFICE)
    assert assert_problem(r, 409)["code"] == "project_state"
    assert_problem(await client.post(f"/v1/projects/{project}/contracts", json=MAINTENANCE, headers=FINANCE), 403)
    assert await count(app, ProjectContract) == 0


# --- Overdue and the lists --------------------------------------------------------------------------------------------


async def overdue(client: httpx.AsyncClient, project: str) -> bool:
    return bool((await client.get(f"/v1/projects/{project}", headers=READER)).json()["overdue"])


async def test_a_project_is_overdue_by_a_late_milestone_or_a_late_acceptance_judged_on_the_requests_day(
    api: Running,
) -> None:
    _, client, clock = api
    project = await approved(client)  # to be accepted by 2020-08-31
    done = await accepted(client, project_code="XM-2020-002")
    milestone = await add_milestone(client, project, "钢架", "2020-06-30")
    clock.on(date(2020, 6, 30))
    assert not await overdue(client, project)  # due today
    clock.on(date(2020, 7, 1))
    assert await overdue(client, project)
    await complete_milestone(client, project, milestone, "2020-07-01")
    assert not await overdue(client, project)
    clock.on(date(2020, 8, 31))
    assert not await overdue(client, project)
    clock.on(date(2020, 9, 1))
    assert await overdue(client, project)  # not accepted by 2020-08-31
    assert not await overdue(client, done)  # accepted in time


async def codes(client: httpx.AsyncClient, headers: dict[str, str] = READER, **filters: Any) -> list[str]:
    """The project codes a filtered list holds, walked one page of one at a time."""
    found, cursor = [], None
    while True:
        params = {**filters, "limit": 1} | ({"cursor": cursor} if cursor else {})
        r = await client.get("/v1/projects", params=params, headers=headers)
        assert r.status_code == 200, r.text
        found += [p["project_code"] for p in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return found


async def test_the_project_list_is_filtered_by_status_fund_source_overdue_and_area(api: Running) -> None:
    app, client, _ = api
    await register(client, project_code="XM-1")
    await approved(client, project_code="XM-2")
    elsewhere = await accepted(client, project_code="XM-3", area_code="371523105203")
    late = await approved(client, project_code="XM-4")
    await add_milestone(client, late, "钢架", "2020-06-15")
    await register(client, project_code="XM-5", acceptance_due_on="2020-06-30")
    central = await allocate(client, source="central")
    assert (await draw(client, elsewhere, central, 1_000)).status_code == 201
    assert await codes(client) == ["XM-1", "XM-2", "XM-3", "XM-4", "XM-5"]
    assert await codes(client, status="approved") == ["XM-2", "XM-4"]
    assert await codes(client, status="planned") == ["XM-1", "XM-5"]
    assert await codes(client, fund_source="central") == ["XM-3"]
    assert await codes(client, fund_source="district") == ["XM-2", "XM-3", "XM-4"]
    assert await codes(client, fund_source="matching") == []
    assert await codes(client, overdue="true") == ["XM-4", "XM-5"]
    assert await codes(client, overdue="false") == ["XM-1", "XM-2", "XM-3"]
    assert await codes(client, status="approved", overdue="true", area_code=TOWNSHIP) == ["XM-4"]
    assert await codes(client, area_code="371523105") == ["XM-3"]
    scoped = auth("township_office", area="371523105", sub="township-7")
    assert await codes(client, headers=scoped, fund_source="district") == ["XM-3"]
    listed = (await client.get("/v1/projects", params={"overdue": "true"}, headers=READER)).json()["items"]
    assert {(p["project_code"], p["overdue"]) for p in listed} == {("XM-4", True), ("XM-5", True)}
    for bad in ({"status": "finished"}, {"fund_source": "bank"}, {"overdue": "maybe"}, {"area_code": "37152"}):
        assert_problem(await client.get("/v1/projects", params=bad, headers=READER), 422)
    assert await count(app, Project) == 5

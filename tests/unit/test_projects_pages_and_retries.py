"""Projects' lists are pages walked by cursor, its creates can be retried with an Idempotency-Key, and the example
of every request body is accepted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select

from services.projects.models import Project, ProjectIncome, ProjectInspection, ProjectProblem
from services.projects.schemas.assets import AssetCreate
from services.projects.schemas.funds import AllocationCreate, FundingCreate, SpendingCreate
from services.projects.schemas.income import IncomeCreate
from services.projects.schemas.inspections import InspectionCreate, ProblemReport
from services.projects.schemas.lifecycle import (
    AcceptanceCreate,
    ContractCreate,
    MilestoneCreate,
    MilestoneUpdate,
    TransitionCreate,
)
from services.projects.schemas.projects import ProjectCreate
from shared.contracts.audit import FindingRecorded, Severity, SubjectKind
from shared.contracts.households import ProblemCategory
from shared.messaging.outbox import OutboxMessage
from shared.schemas import RequestBody
from tests.support import apply_event, assert_problem, auth, running_app

OFFICE = auth("district_office")
FINANCE = auth("finance_officer")
READER = auth("auditor")
PROJECT = ProjectCreate.example
INSPECTION = InspectionCreate.example
INCOME = IncomeCreate.example


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with running_app("projects", await sqlite_url("projects")) as (app, client):
        yield app, client


async def _count(app: Any, model: Any) -> int:
    async with app.state.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)))


async def _project(client: Any, **changes: Any) -> str:
    r = await client.post("/v1/projects", json={**PROJECT, **changes}, headers=OFFICE)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def walk(
    client: Any, path: str, headers: dict[str, str], limit: int, **filters: str
) -> tuple[list[dict[str, Any]], int]:
    """Every item of a list, page by page; and how many pages it took."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {**filters, "limit": limit} | ({"cursor": cursor} if cursor else {})
        r = await client.get(path, params=params, headers=headers)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        pages += 1
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return items, pages


LIFE_BODIES = [AllocationCreate, FundingCreate, SpendingCreate, TransitionCreate, MilestoneCreate, MilestoneUpdate]


@pytest.mark.parametrize(
    "body",
    [ProjectCreate, InspectionCreate, ProblemReport, IncomeCreate, *LIFE_BODIES, AcceptanceCreate, ContractCreate],
)
def test_every_request_body_accepts_its_own_example(body: type[RequestBody]) -> None:
    assert body.example is not None
    body.model_validate(body.example)


async def _posted(client: Any, path: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    r = await client.post(path, json=body, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_the_examples_are_accepted_by_the_service(api: Any) -> None:
    """Each example in its place along a project's life: the ids they name are the ones just made."""
    _, client = api
    pid = await _project(client)
    await _posted(client, f"/v1/projects/{pid}/inspections", INSPECTION, OFFICE)
    line = await _posted(client, "/v1/fund-allocations", AllocationCreate.example, FINANCE)
    drawn = {**FundingCreate.example, "allocation_id": line["id"]}
    funding = await _posted(client, f"/v1/projects/{pid}/funding", drawn, FINANCE)
    await _posted(client, f"/v1/projects/{pid}/transitions", TransitionCreate.example, OFFICE)
    milestone = await _posted(client, f"/v1/projects/{pid}/milestones", MilestoneCreate.example, OFFICE)
    spent = {**SpendingCreate.example, "funding_id": funding["id"]}
    await _posted(client, f"/v1/projects/{pid}/spending", spent, FINANCE)
    building = {"to_status": "under_construction", "effective_on": "2020-03-15"}
    await _posted(client, f"/v1/projects/{pid}/transitions", building, OFFICE)
    path = f"/v1/projects/{pid}/milestones/{milestone['id']}"
    progress = await client.patch(path, json=MilestoneUpdate.example, headers=OFFICE)
    assert progress.status_code == 200, progress.text
    assert (await client.patch(path, json={"completed_on": "2020-05-30"}, headers=OFFICE)).status_code == 200
    built = {"to_status": "completed", "effective_on": "2020-06-10"}
    await _posted(client, f"/v1/projects/{pid}/transitions", built, OFFICE)
    await _posted(client, f"/v1/projects/{pid}/acceptances", AcceptanceCreate.example, auth("inspector"))
    await _posted(client, f"/v1/projects/{pid}/contracts", ContractCreate.example, OFFICE)


async def test_projects_are_paged_by_code(api: Any) -> None:
    _, client = api
    codes = [f"XM-2020-{n:03d}" for n in (5, 1, 4, 2, 3)]
    for code in codes:
        await _project(client, project_code=code)
    await _project(client, project_code="XM-2020-900", area_code="371523105203")  # another township
    items, pages = await walk(client, "/v1/projects", READER, limit=2, area_code="371523101")
    assert ([p["project_code"] for p in items], pages) == (sorted(codes), 3)
    everything, _ = await walk(client, "/v1/projects", READER, limit=4)
    assert len(everything) == len({p["id"] for p in everything}) == 6


async def test_a_projects_inspections_are_paged_latest_first(api: Any) -> None:
    _, client = api
    pid = await _project(client)
    dates = ["2020-04-01", "2020-05-12", "2020-05-12", "2020-06-30", "2020-03-15"]
    for on in dates:
        r = await client.post(
            f"/v1/projects/{pid}/inspections", json={**INSPECTION, "inspected_on": on}, headers=OFFICE
        )
        assert r.status_code == 201, r.text
    items, pages = await walk(client, f"/v1/projects/{pid}/inspections", READER, limit=2)
    assert ([i["inspected_on"] for i in items], pages) == (sorted(dates, reverse=True), 3)
    assert len({i["id"] for i in items}) == 5
    assert {tuple(p["code"] for p in i["problems"]) for i in items} == {("income_not_paid", "roof_damaged")}


async def _earning(app: Any, client: Any, pid: str) -> dict[str, Any]:
    """INCOME for a new asset of the project, accepted (its acceptance is another test's) so that it earns."""
    async with app.state.sessions() as s, s.begin():
        project = await s.get(Project, UUID(pid))
        assert project is not None
        project.status = "accepted"
    asset = {**AssetCreate.example, "registered_on": "2020-06-15"}
    r = await client.post(f"/v1/projects/{pid}/assets", json=asset, headers=OFFICE)
    assert r.status_code == 201, r.text
    return {**INCOME, "asset_id": r.json()["id"]}


async def test_a_projects_income_is_paged_latest_month_first(api: Any) -> None:
    app, client = api
    pid = await _project(client)
    greenhouses, plant = await _earning(app, client, pid), await _earning(app, client, pid)
    periods = ["2020-04", "2020-06", "2020-03", "2020-05"]
    for period in periods:
        for income in (greenhouses, plant):
            r = await client.post(f"/v1/projects/{pid}/income", json={**income, "period": period}, headers=FINANCE)
            assert r.status_code == 201, r.text
    items, pages = await walk(client, f"/v1/projects/{pid}/income", READER, limit=3)
    assert ([i["period"] for i in items], pages) == (sorted(periods * 2, reverse=True), 3)
    assert len({i["id"] for i in items}) == 8
    assert {i["distribution"] for i in items} == {None}


def _finding(project_id: str) -> FindingRecorded:
    return FindingRecorded(
        finding_id=uuid4(),
        subject_kind=SubjectKind.PROJECT,
        subject_id=project_id,
        area_code="371523101201",
        category=ProblemCategory.PROJECT,
        code="roof_damaged",
        severity=Severity.GENERAL,
        description="棚膜破损",
    )


async def test_a_projects_open_findings_are_paged_least_recently_changed_first(api: Any) -> None:
    app, client = api
    pid = await _project(client)
    times = [datetime(2020, 6, day, tzinfo=UTC) for day in (3, 1, 2, 2, 4)]  # two findings at the same moment
    findings = [_finding(pid) for _ in times]
    for finding, at in zip(findings, times, strict=True):
        await apply_event(app, finding, at=at)
    items, pages = await walk(client, f"/v1/projects/{pid}/open-findings", READER, limit=2)
    expected = sorted(zip(times, (f.finding_id for f in findings), strict=True))
    assert ([UUID(i["finding_id"]) for i in items], pages) == ([f for _, f in expected], 3)
    assert {(i["category"], i["severity"]) for i in items} == {("project", "general")}


@pytest.mark.parametrize("cursor", ["not-a-cursor", "WzFd", "eyJhIjoxfQ=="])
async def test_a_cursor_not_given_by_the_service_is_422(api: Any, cursor: str) -> None:
    _, client = api
    pid = await _project(client)
    for path in ("/v1/projects", f"/v1/projects/{pid}/inspections", f"/v1/projects/{pid}/open-findings"):
        assert_problem(await client.get(path, params={"cursor": cursor}, headers=READER), 422)


async def _outbox_count(app: Any) -> int:
    return await _count(app, OutboxMessage)


async def test_a_registration_retried_with_its_key_is_answered_not_repeated(api: Any) -> None:
    app, client = api
    key = {**OFFICE, "Idempotency-Key": "register-xm-2020-001"}
    first = await client.post("/v1/projects", json=PROJECT, headers=key)
    again = await client.post("/v1/projects", json=PROJECT, headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json() and again.headers["Idempotency-Replayed"] == "true"
    assert "Idempotency-Replayed" not in first.headers
    assert (await _count(app, Project), await _outbox_count(app)) == (1, 1)
    assert_problem(await client.post("/v1/projects", json={**PROJECT, "name": "另一个"}, headers=key), 409)
    assert_problem(await client.post("/v1/projects", json=PROJECT, headers=OFFICE), 409)  # no key: a duplicate
    assert (await _count(app, Project), await _outbox_count(app)) == (1, 1)


async def test_an_inspection_retried_with_its_key_publishes_its_problems_once(api: Any) -> None:
    app, client = api
    pid = await _project(client)
    key = {**OFFICE, "Idempotency-Key": "inspection-2020-05-12"}
    first = await client.post(f"/v1/projects/{pid}/inspections", json=INSPECTION, headers=key)
    again = await client.post(f"/v1/projects/{pid}/inspections", json=INSPECTION, headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json() and again.headers["Idempotency-Replayed"] == "true"
    counts = (await _count(app, ProjectInspection), await _count(app, ProjectProblem), await _outbox_count(app))
    assert counts == (1, 2, 3)
    other_day = {**INSPECTION, "inspected_on": "2020-05-13"}
    assert_problem(await client.post(f"/v1/projects/{pid}/inspections", json=other_day, headers=key), 409)
    without_key = await client.post(f"/v1/projects/{pid}/inspections", json=INSPECTION, headers=OFFICE)
    assert without_key.status_code == 201  # without a key, the same inspection is recorded again
    assert (await _count(app, ProjectInspection), await _outbox_count(app)) == (2, 5)


async def test_income_retried_with_its_key_is_recorded_once(api: Any) -> None:
    app, client = api
    pid = await _project(client)
    income = await _earning(app, client, pid)
    published = await _outbox_count(app)
    key = {**FINANCE, "Idempotency-Key": "income-2020-06"}
    first = await client.post(f"/v1/projects/{pid}/income", json=income, headers=key)
    again = await client.post(f"/v1/projects/{pid}/income", json=income, headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json() and again.headers["Idempotency-Replayed"] == "true"
    assert (await _count(app, ProjectIncome), await _outbox_count(app)) == (1, published + 1)
    changed = {**income, "amount_fen": 1}
    assert_problem(await client.post(f"/v1/projects/{pid}/income", json=changed, headers=key), 409)
    assert_problem(await client.post(f"/v1/projects/{pid}/income", json=income, headers=FINANCE), 409)
    assert (await _count(app, ProjectIncome), await _outbox_count(app)) == (1, published + 1)

"""The scheduled checks (定期核查) on a migrated SQLite file: the rules at their boundaries, each check finding what
it must and nothing else, a second run finding nothing new, `POST /v1/checks`, and the worker."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select, update
from sqlmodel import col

from services.projects.domain import checks, schedule
from services.projects.domain.problems import report_problem
from services.projects.models import (
    DistributionPlan,
    Project,
    ProjectAsset,
    ProjectContract,
    ProjectIncome,
    ProjectMilestone,
    ProjectProblem,
)
from services.projects.rules import checks as rules
from shared.api.clock import request_time
from shared.messaging.outbox import OutboxMessage
from tests.kafka_support import eventually
from tests.support import assert_problem, auth, running_app

NOW = datetime(2021, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in the district
TODAY = date(2021, 3, 10)
DAYS = 90  # the default income_distribution_days
VILLAGE = "371523101201"
PROBLEM_FOUND = "gov.poverty.projects.problem_found.v1"
INSPECTOR = auth("inspector", sub="insp-3")
Row = TypeVar("Row")


# --- the rules, at their boundaries ----------------------------------------------------------------------------


def test_a_due_day_is_late_only_once_it_has_passed() -> None:
    assert rules.days_late(TODAY, today=TODAY) == 0
    assert rules.days_late(TODAY + timedelta(days=3), today=TODAY) == 0
    assert rules.days_late(TODAY - timedelta(days=1), today=TODAY) == 1


def test_an_income_is_late_once_it_arrived_more_than_the_days_ago() -> None:
    # An income that arrived on the cutoff arrived exactly DAYS ago: still in time; one the day before is late.
    assert rules.distribution_cutoff(today=TODAY, days=DAYS) == date(2020, 12, 10)
    assert rules.distribution_cutoff(today=TODAY, days=1) == date(2021, 3, 9)


def test_the_years_judged_start_with_a_registration_before_july() -> None:
    assert list(rules.judged_years(date(2019, 6, 30), today=TODAY)) == [2019, 2020]
    assert list(rules.judged_years(date(2019, 7, 1), today=TODAY)) == [2020]
    assert list(rules.judged_years(date(2020, 1, 1), today=date(2020, 12, 31))) == []  # the year has not ended


def test_months_owned_run_from_the_month_after_registration() -> None:
    assert rules.months_owned(date(2019, 3, 15), 2019) == 9
    assert rules.months_owned(date(2019, 1, 1), 2019) == 11
    assert rules.months_owned(date(2019, 6, 30), 2019) == 6
    assert rules.months_owned(date(2019, 3, 15), 2020) == 12
    assert rules.months_owned(date(2019, 3, 15), 2018) == 0


def test_the_expected_return_is_whole_fen_rounded_down() -> None:
    assert rules.expected_return_fen(1_000_000, 800, 12) == 80_000
    assert rules.expected_return_fen(1_234_567, 800, 9) == 74_074  # 74,074.02 fen
    assert rules.expected_return_fen(1_000_000, 0, 12) == 0
    big = 10**12  # the largest amount a body takes, at 100 %: no float anywhere
    assert rules.expected_return_fen(big, 10_000, 12) == big


def test_a_shortfall_is_a_fen_below_the_expected_return() -> None:
    judged: dict[str, Any] = {
        "value_fen": 1_000_000,
        "agreed_return_bp": 800,
        "registered_on": date(2019, 3, 15),
        "year": 2019,
    }
    assert rules.return_shortfall(**judged, received_fen=60_000) is None  # 9 months: exactly the return
    assert rules.return_shortfall(**judged, received_fen=59_999) == rules.ReturnShortfall(2019, 9, 60_000, 59_999)


def test_money_and_rates_are_written_without_float() -> None:
    assert (rules.yuan(123_456_789), rules.yuan(5)) == ("1,234,567.89 yuan", "0.05 yuan")
    assert (rules.percent(800), rules.percent(1_250), rules.percent(5)) == ("8.00 %", "12.50 %", "0.05 %")


# --- the data the checks read ----------------------------------------------------------------------------------


class Seed:
    """Rows written straight into the projects database, as the other use cases would leave them."""

    def __init__(self, sessions: Any) -> None:
        self.sessions = sessions
        self.codes = 0

    async def add(self, row: Row) -> Row:
        async with self.sessions() as s, s.begin():
            s.add(row)
        return row

    async def project(self, status: str = "operating", acceptance_due_on: date | None = None) -> Project:
        self.codes += 1
        return await self.add(
            Project(
                project_code=f"XM-{self.codes:03d}",
                name=f"大棚 {self.codes}",
                kind="greenhouse",
                area_code=VILLAGE,
                budget_fen=100_000_000,
                started_on=date(2019, 1, 1),
                registered_at=NOW - timedelta(days=800),
                status=status,
                acceptance_due_on=acceptance_due_on,
            )
        )

    async def milestone(self, project: Project, due_on: date, completed_on: date | None = None) -> ProjectMilestone:
        return await self.add(
            ProjectMilestone(
                project_id=project.id,
                name="主体完工",
                due_on=due_on,
                progress_pct=100 if completed_on else 60,
                completed_on=completed_on,
                updated_by="cadre-1",
                updated_at=NOW - timedelta(days=30),
            )
        )

    async def contract(self, project: Project, kind: str, starts_on: date, expires_on: date) -> ProjectContract:
        return await self.add(
            ProjectContract(
                project_id=project.id,
                kind=kind,
                provider="人保财险",
                cost_fen=300_000,
                starts_on=starts_on,
                expires_on=expires_on,
                recorded_by="fin-1",
                recorded_at=NOW - timedelta(days=400),
            )
        )

    async def asset(self, project: Project, registered_on: date, value_fen: int = 1_000_000) -> ProjectAsset:
        return await self.add(
            ProjectAsset(
                project_id=project.id,
                description="日光温室 10 座",
                value_fen=value_fen,
                owner_kind="village_collective",
                owner_area_code=VILLAGE,
                operator="合作社",
                agreed_return_bp=800,
                registered_on=registered_on,
                registered_by="insp-1",
                registered_at=NOW - timedelta(days=700),
            )
        )

    async def income(
        self,
        asset: ProjectAsset | None,
        period: str,
        amount_fen: int,
        *,
        received_on: date | None = None,
        recorded_at: datetime | None = None,
        project: Project | None = None,
    ) -> ProjectIncome:
        return await self.add(
            ProjectIncome(
                project_id=asset.project_id if asset else project.id,  # type: ignore[union-attr]
                asset_id=asset.id if asset else None,
                period=period,
                amount_fen=amount_fen,
                received_on=received_on,
                recorded_by="fin-1",
                recorded_at=recorded_at or NOW - timedelta(days=1),  # recent: not late to distribute
            )
        )

    async def plan(self, income: ProjectIncome, status: str) -> DistributionPlan:
        assert income.asset_id is not None
        return await self.add(
            DistributionPlan(
                income_id=income.id,
                project_id=income.project_id,
                asset_id=income.asset_id,
                owner_area_code=VILLAGE,
                period=income.period,
                status=status,
                rule={"basis": "members"},
                amount_fen=income.amount_fen,
                shared_fen=income.amount_fen,
                prepared_by="cadre-1",
                prepared_at=NOW - timedelta(days=20),
            )
        )


async def problems(app: Any) -> list[ProjectProblem]:
    async with app.state.sessions() as s:
        rows = await s.scalars(
            select(ProjectProblem).order_by(col(ProjectProblem.code), col(ProjectProblem.subject_ref))
        )
        return list(rows.all())


async def found(app: Any) -> list[dict[str, Any]]:
    """The `ProjectProblemFound` events in the outbox, in the order recorded."""
    async with app.state.sessions() as s:
        rows = await s.scalars(
            select(OutboxMessage).where(col(OutboxMessage.event_type) == PROBLEM_FOUND).order_by(col(OutboxMessage.id))
        )
        return [json.loads(m.payload) for m in rows.all()]


def subjects(reported: list[ProjectProblem]) -> set[tuple[UUID, str, str]]:
    return {(p.project_id, p.code, p.subject_ref) for p in reported}


async def run(app: Any, now: datetime = NOW) -> schedule.CheckRun:
    return await schedule.run_scheduled_checks(app.state.sessions, now=now, distribution_days=DAYS)


async def neglect(seed: Seed) -> set[tuple[Any, str, str]]:
    """A project of each kind of lapse beside what must not be reported; what the checks must find."""
    building = await seed.project("under_construction", acceptance_due_on=date(2021, 3, 9))
    milestone = await seed.milestone(building, due_on=date(2021, 3, 9))
    await seed.milestone(building, due_on=date(2021, 1, 1), completed_on=date(2021, 2, 1))
    await seed.milestone(building, due_on=TODAY)
    closed = await seed.project("closed")
    await seed.milestone(closed, due_on=date(2020, 1, 1))
    await seed.asset(closed, date(2019, 3, 15))  # earned nothing, but a closed project's assets are not judged
    operating = await seed.project("operating")
    await seed.contract(operating, "insurance", date(2019, 1, 1), date(2019, 12, 31))
    insurance = await seed.contract(operating, "insurance", date(2020, 1, 1), date(2020, 12, 31))
    await seed.contract(operating, "maintenance", date(2020, 1, 1), date(2020, 12, 31))
    await seed.contract(operating, "maintenance", date(2021, 1, 1), date(2021, 12, 31))
    asset = await seed.asset(operating, date(2019, 3, 15), value_fen=900_000_000_000)  # 9 billion yuan: bigint sums
    await seed.income(asset, "2019-01", 27_000_000_000)
    await seed.income(asset, "2019-12", 27_000_000_000)  # 2019, 9 months: exactly 54,000,000,000 fen
    await seed.income(asset, "2020-06", 71_999_994_999)  # 2020, with the five of 1,000 below: a fen short
    late = await seed.income(asset, "2020-11", 1_000, received_on=TODAY - timedelta(days=DAYS + 1))
    await seed.income(asset, "2020-12", 1_000, received_on=TODAY - timedelta(days=DAYS))
    planned = await seed.income(asset, "2020-09", 1_000, received_on=date(2020, 10, 1))
    await seed.plan(planned, "paid")
    undated = await seed.income(asset, "2020-10", 1_000, recorded_at=datetime(2020, 12, 9, 15, 59, tzinfo=UTC))
    await seed.income(asset, "2020-08", 1_000, recorded_at=datetime(2020, 12, 9, 16, 0, tzinfo=UTC))
    return {
        (building.id, "milestone_overdue", str(milestone.id)),
        (building.id, "acceptance_overdue", "2021-03-09"),
        (operating.id, "contract_expired", str(insurance.id)),
        (operating.id, "income_below_return", f"{asset.id}:2020"),
        (operating.id, "income_not_distributed", str(late.id)),
        (operating.id, "income_not_distributed", str(undated.id)),
    }


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with running_app("projects", await sqlite_url("projects")) as (app, client):
        app.dependency_overrides[request_time] = lambda: NOW
        yield app, client, Seed(app.state.sessions)


# --- each check ------------------------------------------------------------------------------------------------


async def test_an_unfinished_milestone_past_its_day_is_overdue(api: Any) -> None:
    app, _, seed = api
    building = await seed.project("under_construction")
    late = await seed.milestone(building, due_on=date(2021, 3, 1))
    await seed.milestone(building, due_on=date(2021, 2, 1), completed_on=date(2021, 3, 5))  # completed, late
    await seed.milestone(building, due_on=TODAY)  # due today: not late yet
    closed = await seed.project("closed")
    await seed.milestone(closed, due_on=date(2020, 1, 1))  # the project is closed
    assert await run(app) == schedule.CheckRun(projects=1, problems=1)
    [problem] = await problems(app)
    assert (problem.project_id, problem.code, problem.subject_ref) == (building.id, "milestone_overdue", str(late.id))
    assert (problem.severity, problem.origin, problem.found_on) == ("general", "check", TODAY)
    assert (
        problem.description
        == 'Milestone "主体完工" was due on 2021-03-01 and is not completed (60 % done): 9 days late.'
    )
    [event] = await found(app)
    assert (event["problem_id"], event["severity"], event["found_by"]) == (str(problem.id), "general", "scheduler")
    assert (event["area_code"], event["found_on"], event["code"]) == (VILLAGE, "2021-03-10", "milestone_overdue")


async def test_a_project_not_accepted_by_its_day_is_overdue_again_after_a_new_day(api: Any) -> None:
    app, _, seed = api
    completed = await seed.project("completed", acceptance_due_on=date(2021, 2, 28))
    await seed.project("accepted", acceptance_due_on=date(2021, 2, 28))  # accepted: whenever, it was
    await seed.project("under_construction", acceptance_due_on=TODAY)  # due today
    await seed.project("planned")  # no due day
    assert (await run(app)).problems == 1
    [problem] = await problems(app)
    assert (problem.project_id, problem.code, problem.subject_ref) == (completed.id, "acceptance_overdue", "2021-02-28")
    assert problem.severity == "serious"
    assert "was due by 2021-02-28 and the project is still completed: 10 days late" in problem.description
    assert (await run(app)).problems == 0
    async with app.state.sessions() as s, s.begin():
        moved = update(Project).where(col(Project.id) == completed.id).values(acceptance_due_on=date(2021, 3, 20))
        await s.execute(moved)
    assert (await run(app)).problems == 0  # within the new day
    assert (await run(app, NOW + timedelta(days=11))).problems == 2  # and the project due on the 10th
    assert [p.subject_ref for p in await problems(app) if p.project_id == completed.id] == ["2021-02-28", "2021-03-20"]


async def test_only_an_expired_latest_contract_of_a_project_in_operation_is_reported(api: Any) -> None:
    app, _, seed = api
    operating = await seed.project("operating")
    await seed.contract(operating, "insurance", date(2019, 1, 1), date(2019, 12, 31))
    lapsed = await seed.contract(operating, "insurance", date(2020, 1, 1), date(2020, 12, 31))
    await seed.contract(operating, "maintenance", date(2020, 1, 1), date(2020, 12, 31))
    await seed.contract(operating, "maintenance", date(2021, 1, 1), date(2021, 12, 31))  # renewed
    accepted = await seed.project("accepted")
    await seed.contract(accepted, "insurance", date(2020, 3, 10), TODAY)  # covers today, its last day
    building = await seed.project("under_construction")
    await seed.contract(building, "insurance", date(2019, 1, 1), date(2019, 12, 31))  # not in operation yet
    assert (await run(app)).problems == 1
    [problem] = await problems(app)
    assert (problem.project_id, problem.code, problem.subject_ref) == (operating.id, "contract_expired", str(lapsed.id))
    assert problem.severity == "general"
    assert problem.description == (
        "The insurance contract with 人保财险 expired on 2020-12-31 and no insurance contract has covered the project "
        "since: 69 days without one."
    )
    renewal = await seed.contract(operating, "insurance", date(2021, 3, 11), date(2022, 3, 10))
    assert (await run(app)).problems == 0  # reported once, and a renewal starting tomorrow is the latest now
    a_year_on = datetime(2022, 3, 11, 2, tzinfo=UTC)  # the renewal, 2021's maintenance, the other's insurance lapsed
    assert await run(app, a_year_on) == schedule.CheckRun(projects=2, problems=3)
    assert str(renewal.id) in {p.subject_ref for p in await problems(app)}


async def test_income_below_the_agreed_return_is_reported_per_asset_and_ended_year(api: Any) -> None:
    app, _, seed = api
    project = await seed.project("operating")
    spring = await seed.asset(project, date(2019, 3, 15))  # 2019: 9 months, 60,000 fen; 2020: 80,000
    await seed.income(spring, "2019-06", 30_000)
    await seed.income(spring, "2019-12", 30_000)  # exactly the return
    await seed.income(spring, "2020-06", 79_999)  # a fen short
    await seed.income(spring, "2021-01", 1)  # this year has not ended
    autumn = await seed.asset(project, date(2019, 7, 1))  # judged from 2020 on; nothing received then
    other = await seed.project("operating")
    paid_up = await seed.asset(other, date(2020, 1, 10), value_fen=1_234_567)  # 11 months: 90,534 fen
    await seed.income(paid_up, "2020-03", 90_535)
    assert await run(app) == schedule.CheckRun(projects=1, problems=2)
    assert subjects(await problems(app)) == {
        (project.id, "income_below_return", f"{spring.id}:2020"),
        (project.id, "income_below_return", f"{autumn.id}:2020"),
    }
    described = {p.subject_ref: p.description for p in await problems(app)}
    assert described[f"{spring.id}:2020"] == (
        'Asset "日光温室 10 座" earned 799.99 yuan in 2020, below its agreed return of 800.00 yuan (8.00 % a year of '
        "10,000.00 yuan for 12 months owned)."
    )
    assert "earned 0.00 yuan in 2020" in described[f"{autumn.id}:2020"]
    assert {e["severity"] for e in await found(app)} == {"general"}
    assert (await run(app)).problems == 0


async def test_a_closed_projects_assets_are_not_judged_for_their_return(api: Any) -> None:
    app, _, seed = api
    closed = await seed.project("closed")  # its income can no longer be recorded: no finding could be answered
    await seed.asset(closed, date(2019, 3, 15))
    operating = await seed.project("operating")
    asset = await seed.asset(operating, date(2019, 3, 15))
    await seed.income(asset, "2019-12", 60_000)
    assert await run(app) == schedule.CheckRun(projects=1, problems=1)
    assert subjects(await problems(app)) == {(operating.id, "income_below_return", f"{asset.id}:2020")}


async def test_income_without_an_approved_plan_in_time_is_not_distributed(api: Any) -> None:
    app, _, seed = api
    project = await seed.project("operating")
    asset = await seed.asset(project, date(2019, 3, 15))
    late = await seed.income(asset, "2020-10", 100_000, received_on=TODAY - timedelta(days=DAYS + 1))
    await seed.income(asset, "2020-11", 100_000, received_on=TODAY - timedelta(days=DAYS))  # DAYS ago: in time
    approved = await seed.income(asset, "2020-01", 100_000, received_on=date(2020, 2, 1))
    await seed.plan(approved, "approved")
    accounted = await seed.income(asset, "2020-02", 100_000, received_on=date(2020, 3, 1))
    await seed.plan(accounted, "accounted")
    rejected = await seed.income(asset, "2020-03", 100_000, received_on=date(2020, 4, 1))
    await seed.plan(rejected, "rejected")
    reviewed = await seed.income(asset, "2020-04", 100_000, received_on=date(2020, 5, 1))
    await seed.plan(reviewed, "reviewed")  # not approved yet
    last_day = datetime(2020, 12, 9, 15, 59, tzinfo=UTC)  # 2020-12-09 23:59 in the district: 91 days ago
    undated = await seed.income(asset, "2020-05", 100_000, recorded_at=last_day)
    first_day = datetime(2020, 12, 9, 16, 0, tzinfo=UTC)  # 2020-12-10 00:00 in the district: 90 days ago
    await seed.income(asset, "2020-07", 100_000, recorded_at=first_day)
    await seed.income(None, "2019-05", 100_000, received_on=date(2019, 6, 1), project=project)  # before assets
    await run(app)
    by_income = {p.subject_ref: p for p in await problems(app) if p.code == "income_not_distributed"}
    assert by_income.keys() == {str(i.id) for i in (late, rejected, reviewed, undated)}
    assert {p.severity for p in by_income.values()} == {"serious"}
    assert by_income[str(late.id)].description == (
        "Income of 2020-10 (1,000.00 yuan) arrived on 2020-12-09 and has no approved distribution plan 91 days later "
        "(plans are due within 90 days)."
    )
    assert "arrived on 2020-12-09 and has no approved distribution plan 91 days later" in (
        by_income[str(undated.id)].description
    )


async def test_a_second_run_reports_nothing_new(api: Any) -> None:
    app, _, seed = api
    expected = await neglect(seed)
    assert await run(app) == schedule.CheckRun(projects=2, problems=len(expected))
    assert subjects(await problems(app)) == expected
    async with app.state.sessions() as s:  # the queries leave out what was reported: a run finds only what is new
        assert await checks.find_lapses(s, today=TODAY, distribution_days=DAYS) == {}
    assert await run(app) == schedule.CheckRun()
    assert (len(await problems(app)), len(await found(app))) == (len(expected), len(expected))


async def test_a_project_whose_report_fails_is_left_for_the_next_run(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app, _, seed = api
    failing = await seed.project("completed", acceptance_due_on=date(2021, 1, 31))
    other = await seed.project("approved", acceptance_due_on=date(2021, 1, 31))

    async def report_or_fail(session: Any, project: Project, **problem: Any) -> ProjectProblem | None:
        if project.id == failing.id:
            raise ConnectionError("the database went away")
        return await report_problem(session, project, **problem)

    def runs(outcome: str) -> float:
        labels = {"check": "project_checks", "outcome": outcome}
        return REGISTRY.get_sample_value("poverty_scheduled_check_runs_total", labels) or 0.0

    before = (runs("ok"), runs("failed"))
    monkeypatch.setattr(checks, "report_problem", report_or_fail)
    assert await run(app) == schedule.CheckRun(projects=1, problems=1, failed=1)
    monkeypatch.undo()
    assert await run(app) == schedule.CheckRun(projects=1, problems=1)
    assert {p.project_id for p in await problems(app)} == {failing.id, other.id}
    assert len(await found(app)) == 2  # the failed project's transaction published nothing
    assert (runs("ok") - before[0], runs("failed") - before[1]) == (1, 1)


# --- POST /v1/checks ---------------------------------------------------------------------------------------------


async def test_an_inspector_runs_every_check_and_gets_the_counts(api: Any) -> None:
    app, client, seed = api
    project = await seed.project("completed", acceptance_due_on=date(2021, 1, 31))
    await seed.milestone(project, due_on=date(2021, 1, 1))
    await seed.milestone(project, due_on=date(2021, 2, 1))
    r = await client.post("/v1/checks", headers=INSPECTOR)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "checked_at": "2021-03-10T02:00:00Z",
        "checked_on": "2021-03-10",
        "found": {
            "milestone_overdue": 2,
            "acceptance_overdue": 1,
            "contract_expired": 0,
            "income_below_return": 0,
            "income_not_distributed": 0,
        },
        "total": 3,
    }
    assert {(e["found_by"], e["severity"]) for e in await found(app)} == {("insp-3", "general"), ("insp-3", "serious")}
    again = await client.post("/v1/checks", headers=auth("district_office"))
    assert again.status_code == 200 and again.json()["total"] == 0
    assert len(await found(app)) == 3


@pytest.mark.parametrize("role", ["township_office", "village_cadre", "finance_officer", "auditor"])
async def test_only_district_wide_checkers_run_the_checks(api: Any, role: str) -> None:
    app, client, seed = api
    await seed.project("completed", acceptance_due_on=date(2021, 1, 31))
    body = assert_problem(await client.post("/v1/checks", headers=auth(role, area="371523101")), 403)
    assert body["status"] == 403
    assert await problems(app) == []


# --- the worker ----------------------------------------------------------------------------------------------------


async def test_the_worker_reports_on_its_own(sqlite_url: Any) -> None:
    url = await sqlite_url("projects")
    async with running_app("projects", url, check_interval_seconds=0.05) as (app, _):
        seed = Seed(app.state.sessions)
        project = await seed.project("under_construction")
        await seed.milestone(project, due_on=date(2020, 1, 1))  # overdue on any day the test runs
        await eventually(lambda: problems(app), timeout=10)
        assert [(p.code, p.origin) for p in await problems(app)] == [("milestone_overdue", "check")]
        assert [e["found_by"] for e in await found(app)] == ["scheduler"]

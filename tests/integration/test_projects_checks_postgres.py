"""The scheduled checks on PostgreSQL: every check's query (uuids as text, the years of an asset, sums of bigint
fen) finds what SQLite finds, and runs at the same time (replicas' workers, `POST /v1/checks`) report each problem
and publish each event once."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from services.projects.domain import checks, schedule
from services.projects.models import ProjectProblem
from shared.api.clock import request_time
from tests.support import auth, running_app
from tests.unit.test_projects_checks import DAYS, NOW, TODAY, Seed, found, neglect, problems, run, subjects


@pytest.fixture
async def api(pg_database: Any) -> Any:
    async with running_app("projects", await pg_database("projects")) as (app, client):
        app.dependency_overrides[request_time] = lambda: NOW
        yield app, client, Seed(app.state.sessions)


async def test_every_check_on_postgresql(api: Any) -> None:
    app, _, seed = api
    expected = await neglect(seed)
    assert await run(app) == schedule.CheckRun(projects=2, problems=len(expected))
    reported = await problems(app)
    assert subjects(reported) == expected
    [shortfall] = [p for p in reported if p.code == "income_below_return"]
    assert "earned 719,999,999.99 yuan in 2020, below its agreed return of 720,000,000.00 yuan" in shortfall.description
    assert {(e["code"], e["severity"]) for e in await found(app)} == {
        ("milestone_overdue", "general"),
        ("acceptance_overdue", "serious"),
        ("contract_expired", "general"),
        ("income_below_return", "general"),
        ("income_not_distributed", "serious"),
    }
    async with app.state.sessions() as s:  # uuids, dates and "asset:year" compared as PostgreSQL writes them
        assert await checks.find_lapses(s, today=TODAY, distribution_days=DAYS) == {}
    assert await run(app) == schedule.CheckRun()


async def test_runs_at_the_same_time_report_each_problem_once(api: Any) -> None:
    app, client, seed = api
    expected = await neglect(seed)
    workers = [schedule.run_scheduled_checks(app.state.sessions, now=NOW, distribution_days=DAYS) for _ in range(3)]
    requests = [client.post("/v1/checks", headers=auth("inspector", sub=f"insp-{n}")) for n in range(2)]
    results = await asyncio.gather(*workers, *requests)
    runs, responses = results[:3], results[3:]
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    assert sum(r.failed for r in runs) == 0
    assert sum(r.problems for r in runs) + sum(r.json()["total"] for r in responses) == len(expected)
    assert subjects(await problems(app)) == expected
    events = await found(app)
    assert sorted(e["problem_id"] for e in events) == sorted(str(p.id) for p in await problems(app))


async def test_the_database_keeps_one_problem_per_check_and_subject(api: Any) -> None:
    """A second problem of a check about one subject is refused by the database, and a run finds it reported."""
    app, _, seed = api
    project = await seed.project("completed", acceptance_due_on=date(2021, 1, 31))
    row = {"project_id": project.id, "code": "acceptance_overdue", "description": "late", "origin": "check"}
    async with app.state.sessions() as s, s.begin():
        s.add(ProjectProblem(**row, subject_ref="2021-01-31", found_on=TODAY))
    with pytest.raises(IntegrityError, match="uq_projectproblem_check_subject"):
        async with app.state.sessions() as s, s.begin():
            s.add(ProjectProblem(**row, subject_ref="2021-01-31", found_on=TODAY))
    assert await run(app) == schedule.CheckRun()  # already reported, whoever reported it
    async with app.state.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(ProjectProblem)) == 1

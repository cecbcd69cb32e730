"""Projects' money and life on real PostgreSQL: the unit tier's flows again, and the races they must survive: draws
of several projects at once on one funding line, spending at once against one draw, a draw lowered while money is
spent, the same first draw twice at once, two moves of one project at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from services.projects.models import ProjectFunding, ProjectSpending, ProjectStatusChange
from tests.support import assert_problem
from tests.unit import test_projects_funds as funds
from tests.unit import test_projects_lifecycle as life
from tests.unit.test_projects_funds import spend
from tests.unit.test_projects_lifecycle import (
    Running,
    allocate,
    approved,
    draw,
    move,
    register,
    service,
)

pytestmark = pytest.mark.integration
MakeDb = Callable[[str], Awaitable[str]]
Scenario = Callable[[Running], Awaitable[None]]


@pytest.fixture
async def api(pg_database: MakeDb) -> AsyncIterator[Running]:
    async with service(await pg_database("projects")) as running:
        yield running


@pytest.mark.parametrize(
    "scenario",
    [
        funds.scenario_draws_never_exceed_the_line,
        funds.scenario_a_second_draw_on_a_line_sets_its_new_total,
        funds.scenario_spending_never_passes_the_draw,
        funds.scenario_the_years_totals_by_source_are_exact,
        funds.test_spending_is_published_with_its_lines_source_and_year,
        life.test_a_project_lives_from_planned_to_closed_each_step_kept_and_published,
        life.test_the_project_list_is_filtered_by_status_fund_source_overdue_and_area,
        life.test_a_project_is_overdue_by_a_late_milestone_or_a_late_acceptance_judged_on_the_requests_day,
        life.test_a_passed_acceptance_accepts_the_project_and_reports_what_it_found,
    ],
    ids=lambda scenario: scenario.__name__.removeprefix("test_").removeprefix("scenario_"),
)
async def test_the_flows_hold_on_postgres(api: Running, scenario: Scenario) -> None:
    await scenario(api)


async def _sum(app: Any, column: Any, *where: Any) -> int:
    async with app.state.sessions() as session:
        return int(await session.scalar(select(func.coalesce(func.sum(column), 0)).where(*where)) or 0)


async def test_draws_of_many_projects_at_once_never_overspend_a_line(api: Running) -> None:
    app, client, _ = api
    line = await allocate(client, amount_fen=1_000_000)
    projects = [await register(client, project_code=f"XM-2020-{n:03d}") for n in range(8)]
    answers = await asyncio.gather(*(draw(client, project, line, 250_000) for project in projects))
    assert sorted(r.status_code for r in answers) == [201] * 4 + [409] * 4
    refusals = [assert_problem(r, 409) for r in answers if r.status_code == 409]
    assert {(p["code"], p["available_fen"]) for p in refusals} == {("allocation_exhausted", 0)}
    assert await _sum(app, ProjectFunding.amount_fen, col(ProjectFunding.allocation_id) == UUID(line)) == 1_000_000


async def test_two_draws_at_once_that_together_pass_the_line_leave_one_refused(api: Running) -> None:
    app, client, _ = api
    line = await allocate(client, amount_fen=1_000_000)
    one, two = await register(client), await register(client, project_code="XM-2020-002")
    answers = await asyncio.gather(draw(client, one, line, 600_000), draw(client, two, line, 600_000))
    assert sorted(r.status_code for r in answers) == [201, 409]
    [refused] = [assert_problem(r, 409) for r in answers if r.status_code == 409]
    assert (refused["code"], refused["available_fen"]) == ("allocation_exhausted", 400_000)
    assert await _sum(app, ProjectFunding.amount_fen, col(ProjectFunding.allocation_id) == UUID(line)) == 600_000


async def test_the_same_first_draw_twice_at_once_is_one_draw(api: Running) -> None:
    app, client, _ = api
    line = await allocate(client, amount_fen=1_000_000)
    project = await register(client)
    answers = await asyncio.gather(draw(client, project, line, 300_000), draw(client, project, line, 500_000))
    assert sorted(r.status_code for r in answers) == [200, 201]
    async with app.state.sessions() as session:
        rows = (
            await session.scalars(select(ProjectFunding).where(col(ProjectFunding.allocation_id) == UUID(line)))
        ).all()
    assert len(rows) == 1 and rows[0].amount_fen in {300_000, 500_000}


async def test_spending_at_once_never_passes_the_draw(api: Running) -> None:
    app, client, _ = api
    project = await approved(client)
    line = await allocate(client, amount_fen=1_000_000)
    funding = (await draw(client, project, line, 1_000_000)).json()["id"]
    answers = await asyncio.gather(*(spend(client, project, funding, 300_000) for _ in range(5)))
    assert sorted(r.status_code for r in answers) == [201] * 3 + [409] * 2
    assert {assert_problem(r, 409)["available_fen"] for r in answers if r.status_code == 409} == {100_000}
    assert await _sum(app, ProjectSpending.amount_fen, col(ProjectSpending.funding_id) == UUID(funding)) == 900_000


async def test_a_draw_lowered_while_money_is_spent_never_falls_below_the_spending(api: Running) -> None:
    app, client, _ = api
    project = await approved(client)
    line = await allocate(client, amount_fen=1_000_000)
    funding = (await draw(client, project, line, 1_000_000)).json()["id"]
    lowered, spent = await asyncio.gather(
        draw(client, project, line, 500_000), spend(client, project, funding, 600_000)
    )
    assert {lowered.status_code, spent.status_code} in ({200, 409}, {409, 201})
    async with app.state.sessions() as session:
        kept = await session.get(ProjectFunding, UUID(funding))
    assert kept is not None
    assert (
        await _sum(app, ProjectSpending.amount_fen, col(ProjectSpending.funding_id) == UUID(funding)) <= kept.amount_fen
    )


async def test_two_moves_of_one_project_at_once_make_one_step(api: Running) -> None:
    app, client, _ = api
    project = await register(client)
    line = await allocate(client)
    assert (await draw(client, project, line, 1_000)).status_code == 201
    answers = await asyncio.gather(*(move(client, project, "approved", "2020-03-10") for _ in range(3)))
    assert sorted(r.status_code for r in answers) == [201, 409, 409]
    assert {assert_problem(r, 409)["code"] for r in answers if r.status_code == 409} == {"transition_not_allowed"}
    async with app.state.sessions() as session:
        steps = await session.scalar(select(func.count()).where(col(ProjectStatusChange.project_id) == UUID(project)))
    assert steps == 1

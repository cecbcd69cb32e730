"""Projects' part of the half-year report on real PostgreSQL: the unit tier's figures again (PostgreSQL sums BIGINT
as NUMERIC, compares the district's days with aware times and picks each project's status at a day its own way)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests.unit import test_projects_report as report
from tests.unit.test_projects_lifecycle import Running, service

pytestmark = pytest.mark.integration


@pytest.fixture
async def api(pg_database: Callable[[str], Awaitable[str]]) -> AsyncIterator[Running]:
    async with service(await pg_database("projects")) as running:
        yield running


@pytest.mark.parametrize(
    "figures",
    [
        report.test_funds_are_the_years_lines_by_source_spent_by_the_periods_end,
        report.test_projects_by_status_at_the_periods_end_started_and_accepted,
        report.test_income_received_and_plans_approved_in_the_period_with_their_set_asides,
        report.test_shares_paid_count_while_not_reversed,
        report.test_posts_held_at_the_periods_end_and_the_allowances_of_payrolls_approved_in_it,
        report.test_contract_costs_by_the_day_they_start_and_workshop_wages_by_their_month,
    ],
    ids=lambda figures: figures.__name__.removeprefix("test_"),
)
async def test_the_figures_hold_on_postgres(api: Running, figures: Any) -> None:
    await figures(api)

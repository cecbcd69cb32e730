"""Subsidies' part of the half-year report on real PostgreSQL: the unit tier's figures again (PostgreSQL sums BIGINT
as NUMERIC, compares the district's days with aware times and groups the same rows its own way)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.support import running_app
from tests.unit import test_subsidies_report as report

pytestmark = pytest.mark.integration
Figures = Callable[[httpx.AsyncClient], Awaitable[None]]


@pytest.fixture
async def api(pg_database: Callable[[str], Awaitable[str]]) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app("subsidies", await pg_database("subsidies")) as (app, client):
        await report.paid_around_the_second_half(app, client)
        yield client


@pytest.mark.parametrize(
    "figures",
    [
        report.test_money_paid_nets_out_reversals_in_the_period_they_were_recorded,
        report.test_households_people_and_person_times_count_payments_kept_at_the_periods_end,
        report.test_new_enrolments_are_households_paid_for_the_period_and_not_for_the_span_before,
        report.test_a_township_counts_the_payments_decided_in_it,
        report.test_the_monthly_standards_in_force_at_the_periods_end,
    ],
    ids=lambda figures: figures.__name__.removeprefix("test_"),
)
async def test_the_figures_hold_on_postgres(api: httpx.AsyncClient, figures: Any) -> None:
    await figures(api)

"""Campaign coverage and audit's filtered lists on real PostgreSQL: the counts by township (a grouped expression),
the unreached households by pages, the end-of-campaign findings made once however many replicas check at the same
time (FOR UPDATE SKIP LOCKED), and the filters of every list as on SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from services.audit.domain import coverage_checks
from services.audit.models import Finding, InspectionCampaign
from shared.api.clock import request_time
from tests.support import running_app
from tests.unit import test_audit_coverage as coverage_tests
from tests.unit import test_audit_lists as lists
from tests.unit.test_audit_api_pages import assert_pages
from tests.unit.test_audit_coverage import (
    AFTER_THE_END,
    DISTRICT,
    OFFICER_B,
    TOWNSHIP_A,
    TOWNSHIP_B,
    VILLAGE_A2,
    coverage_of,
    open_campaign,
    register,
    seed,
)
from tests.unit.test_audit_support import OTHER_TOWNSHIP

pytestmark = pytest.mark.integration
REPLICAS = 3


@pytest.fixture
async def api(pg_database: Any) -> Any:
    async with running_app("audit", await pg_database("audit")) as (app, client):
        app.dependency_overrides[request_time] = lambda: datetime(2020, 5, 2, 2, tzinfo=UTC)
        yield app, client


async def test_coverage_counts_and_unreached_pages_on_postgres(api: Any) -> None:
    app, client = api
    campaign, h = await seed(app, client)
    more = [await register(app, VILLAGE_A2) for _ in range(3)]
    assert await coverage_of(client, campaign) == {TOWNSHIP_A: (7, 1, 1428), TOWNSHIP_B: (1, 1, 10_000)}
    assert await coverage_of(client, campaign, OFFICER_B) == {TOWNSHIP_B: (1, 1, 10_000)}
    pages = await client.get(f"/v1/campaigns/{campaign}/coverage?limit=1", headers=DISTRICT)
    second = await client.get(
        f"/v1/campaigns/{campaign}/coverage?cursor={pages.json()['next_cursor']}", headers=DISTRICT
    )
    assert [row["township"] for row in second.json()["items"]] == [TOWNSHIP_B]
    listed = await assert_pages(
        client, f"/v1/campaigns/{campaign}/unreached", limit=2, key=lambda item: item["household_id"]
    )
    assert {item["household_id"] for item in listed} == {str(h[n]) for n in ("round_1", "late", "never")} | {
        str(m) for m in more
    }


async def test_a_consumers_batch_looks_its_households_up_at_once_on_postgres(api: Any) -> None:
    await coverage_tests.test_a_batch_registering_and_visiting_a_household_twice_keeps_one_of_each(api)


async def test_replicas_checking_at_once_make_each_townships_finding_once(api: Any) -> None:
    app, client = api
    # Set up before the visits: a second district campaign of the round, and township B's (which reaches all of B).
    campaigns = [
        await open_campaign(client),
        await open_campaign(client, scope_level="township", scope_code=TOWNSHIP_B),
    ]
    campaigns.append((await seed(app, client))[0])
    settings = app.state.runtime.settings
    runs = await asyncio.gather(
        *(coverage_checks.run_coverage_checks(app.state.sessions, settings, now=AFTER_THE_END) for _ in range(REPLICAS))
    )
    judged = sorted(str(check.campaign_id) for run in runs for check in run)
    assert judged == sorted(campaigns)
    async with app.state.sessions() as s:
        findings = (await s.scalars(select(Finding))).all()
        unchecked = await s.scalar(select(func.count()).where(col(InspectionCampaign.coverage_checked_at).is_(None)))
    # Both district campaigns leave 贾寨镇 below full coverage: one open finding, found again by the second.
    assert [(f.subject_id, f.code, f.occurrences) for f in findings] == [(TOWNSHIP_A, "coverage_incomplete", 2)]
    assert unchecked == 0
    again = await coverage_checks.run_coverage_checks(
        app.state.sessions, settings, now=AFTER_THE_END + timedelta(days=1)
    )
    assert again == []


@pytest.fixture
async def seeded(pg_database: Any) -> AsyncIterator[tuple[Any, Any, dict[str, str]]]:
    async with lists.seeded_audit(await pg_database("audit")) as seeded:
        yield seeded


@pytest.mark.parametrize(("query", "expected"), lists.FINDING_FILTERS)
async def test_findings_and_tasks_are_filtered_on_postgres(seeded: Any, query: str, expected: set[str]) -> None:
    await lists.test_findings_are_filtered(seeded, query, expected)
    await lists.test_tasks_are_filtered_by_their_findings_and_their_opening(seeded, query, expected)


async def test_the_other_lists_are_filtered_on_postgres(seeded: Any) -> None:
    await lists.test_referrals_are_filtered(seeded, f"area_code={OTHER_TOWNSHIP}", {"serious"})
    await lists.test_decisions_and_the_named_notice_are_filtered(seeded, "kind=talk", {"severe"})
    await lists.test_campaigns_are_filtered(seeded, f"area_code={lists.OTHER_VILLAGE}", {"campaign"})
    await lists.test_the_views_are_filtered(seeded)
    await lists.test_a_township_office_filters_within_its_own_area_only(seeded)
    await lists.test_a_bad_filter_is_a_422_that_changes_nothing(seeded, "/v1/findings", "from=2020-05-12&to=2020-05-11")

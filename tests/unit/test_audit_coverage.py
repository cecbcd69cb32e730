"""Campaign coverage (全覆盖) on SQLite: the households audit knows, the visits that count for a campaign (in its
scope, dates and round, once per household), the coverage by township and the unreached households by pages, and
the end-of-campaign finding for each township below full coverage, once."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from services.audit.domain import coverage_checks
from services.audit.models import CampaignVisit, Finding, InspectionCampaign, KnownHousehold, RectificationTask
from services.audit.rules.campaigns import TownshipCoverage, counts_visit, is_due_for_coverage_check
from shared.api.clock import request_time
from shared.contracts.audit import ScopeLevel
from shared.contracts.households import HouseholdRegistered, HouseholdUpdated, VisitRecorded
from tests.support import apply_event, assert_problem, auth, envelope_of, running_app, service_settings
from tests.unit.test_audit_api_pages import assert_pages
from tests.unit.test_audit_support import count

DISTRICT = auth("district_office", sub="district-officer-1")
TOWNSHIP_A, TOWNSHIP_B = "371523101", "371523105"
OFFICER_A = auth("township_office", area=TOWNSHIP_A, sub="township-officer-1")
OFFICER_B = auth("township_office", area=TOWNSHIP_B, sub="township-officer-9")
VILLAGE_A1, VILLAGE_A2, VILLAGE_B = f"{TOWNSHIP_A}201", f"{TOWNSHIP_A}202", f"{TOWNSHIP_B}201"
OUTSIDE = "371524101201"  # another district's village
REGISTERED = datetime(2020, 4, 1, 2, tzinfo=UTC)
CAMPAIGN = {
    "name": "2020年第二轮入户走访",
    "kind": "self_assessment",
    "scope_level": "district",
    "scope_code": "371523",
    "round": 2,
    "starts_on": "2020-05-01",
    "ends_on": "2020-05-31",
}
AFTER_THE_END = datetime(2020, 6, 1, 1, tzinfo=UTC)  # 09:00 on 1 June in the district


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with running_app("audit", await sqlite_url("audit")) as (app, client):
        app.dependency_overrides[request_time] = lambda: datetime(2020, 5, 2, 2, tzinfo=UTC)
        yield app, client


def at(moment: datetime) -> Any:
    return lambda: moment


async def register(app: Any, area: str, *, when: datetime = REGISTERED) -> uuid.UUID:
    household = uuid.uuid4()
    await apply_event(
        app, HouseholdRegistered(household_id=household, household_code="H", area_code=area, member_count=2), at=when
    )
    return household


async def visit(app: Any, household: uuid.UUID, area: str, day: str, *, round: int = 2) -> None:
    event = VisitRecorded(
        household_id=household,
        visit_id=uuid.uuid4(),
        area_code=area,
        round=round,
        visited_on=date.fromisoformat(day),
        problem_count=0,
    )
    await apply_event(app, event)


async def open_campaign(client: Any, **change: Any) -> str:
    response = await client.post("/v1/campaigns", json={**CAMPAIGN, **change}, headers=DISTRICT)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def coverage_of(
    client: Any, campaign: str, headers: dict[str, str] = DISTRICT
) -> dict[str, tuple[int, int, int]]:
    response = await client.get(f"/v1/campaigns/{campaign}/coverage", headers=headers)
    assert response.status_code == 200, response.text
    return {row["township"]: (row["households"], row["reached"], row["rate_bp"]) for row in response.json()["items"]}


async def seed(app: Any, client: Any) -> tuple[str, dict[str, uuid.UUID]]:
    """Township A: five households, one reached (visited twice), one visited in another round, one after the dates,
    one not at all, one registered after the campaign; township B: one, reached. And a household of another
    district, visited: outside the scope."""
    campaign = await open_campaign(client)
    h = {name: await register(app, VILLAGE_A1) for name in ("twice", "round_1", "late", "never")}
    h["after_end"] = await register(app, VILLAGE_A2, when=datetime(2020, 6, 1, 2, tzinfo=UTC))
    h["b"] = await register(app, VILLAGE_B)
    h["outside"] = await register(app, OUTSIDE)
    await visit(app, h["twice"], VILLAGE_A1, "2020-05-10")
    await visit(app, h["twice"], VILLAGE_A1, "2020-05-12")
    await visit(app, h["round_1"], VILLAGE_A1, "2020-05-10", round=1)
    await visit(app, h["late"], VILLAGE_A1, "2020-06-01")
    await visit(app, h["b"], VILLAGE_B, "2020-05-31")
    await visit(app, h["outside"], OUTSIDE, "2020-05-10")
    return campaign, h


def test_a_visit_counts_in_the_scope_dates_and_round_only() -> None:
    scope = (ScopeLevel.TOWNSHIP, TOWNSHIP_A, date(2020, 5, 1), date(2020, 5, 31), 2)

    def counts(area: str = VILLAGE_A1, day: date = date(2020, 5, 31), visit_round: int = 2) -> bool:
        return counts_visit(*scope, area_code=area, visited_on=day, visit_round=visit_round)

    assert counts() and counts(day=date(2020, 5, 1))
    assert not counts(area=VILLAGE_B)
    assert not counts(day=date(2020, 4, 30)) and not counts(day=date(2020, 6, 1))
    assert not counts(visit_round=1)
    project = (ScopeLevel.PROJECT, str(uuid.uuid4()), date(2020, 5, 1), date(2020, 5, 31), 2)
    assert not counts_visit(*project, area_code=VILLAGE_A1, visited_on=date(2020, 5, 2), visit_round=2)


def test_the_rate_is_exact_in_basis_points_and_full_only_when_full() -> None:
    assert (TownshipCoverage("t", 3, 1).rate_bp, TownshipCoverage("t", 3, 1).not_reached) == (3333, 2)
    assert TownshipCoverage("t", 10_000, 9_999).rate_bp == 9_999
    assert not TownshipCoverage("t", 10_000, 9_999).complete
    assert (TownshipCoverage("t", 7, 7).rate_bp, TownshipCoverage("t", 7, 7).complete) == (10_000, True)


def test_coverage_is_judged_once_after_the_last_day() -> None:
    last_day = date(2020, 5, 31)
    assert not is_due_for_coverage_check(ScopeLevel.DISTRICT, last_day, False, today=last_day)
    assert is_due_for_coverage_check(ScopeLevel.DISTRICT, last_day, False, today=date(2020, 6, 1))
    assert not is_due_for_coverage_check(ScopeLevel.DISTRICT, last_day, True, today=date(2020, 6, 1))
    assert not is_due_for_coverage_check(ScopeLevel.PROJECT, last_day, False, today=date(2020, 6, 1))


async def test_coverage_counts_each_household_reached_once_in_scope_dates_and_round(api: Any) -> None:
    app, client = api
    campaign, _ = await seed(app, client)
    assert await coverage_of(client, campaign) == {TOWNSHIP_A: (4, 1, 2500), TOWNSHIP_B: (1, 1, 10_000)}
    async with app.state.sessions() as s:
        assert await count(s, CampaignVisit) == 2  # the second visit of the same household is not kept
    # A township's campaign counts its own township's visits, and none of the other round's.
    township = await open_campaign(client, scope_level="township", scope_code=TOWNSHIP_B, round=1)
    assert await coverage_of(client, township) == {TOWNSHIP_B: (1, 0, 0)}


async def test_a_township_office_reads_its_own_township_and_not_another_townships_campaign(api: Any) -> None:
    app, client = api
    campaign, _ = await seed(app, client)
    assert await coverage_of(client, campaign, OFFICER_B) == {TOWNSHIP_B: (1, 1, 10_000)}
    other = await open_campaign(client, scope_level="township", scope_code=TOWNSHIP_A)
    assert_problem(await client.get(f"/v1/campaigns/{other}/coverage", headers=OFFICER_B), 403)
    assert_problem(await client.get(f"/v1/campaigns/{other}/unreached", headers=OFFICER_B), 403)
    assert_problem(await client.get(f"/v1/campaigns/{uuid.uuid4()}/coverage", headers=DISTRICT), 404)


async def test_unreached_households_are_listed_by_area_then_id_in_pages(api: Any) -> None:
    app, client = api
    campaign, h = await seed(app, client)
    for n in range(3):
        h[f"more{n}"] = await register(app, VILLAGE_A2)
    url = f"/v1/campaigns/{campaign}/unreached"
    listed = await assert_pages(client, url, limit=2, key=lambda item: item["household_id"])
    expected = sorted(
        [(VILLAGE_A1, str(h[n])) for n in ("round_1", "late", "never")]
        + [(VILLAGE_A2, str(h[f"more{n}"])) for n in range(3)]
    )
    assert [(item["area_code"], item["household_id"]) for item in listed] == expected
    in_a2 = (await client.get(f"{url}?area_code={VILLAGE_A2}", headers=DISTRICT)).json()["items"]
    assert {item["household_id"] for item in in_a2} == {str(h[f"more{n}"]) for n in range(3)}
    assert (await client.get(url, headers=OFFICER_B)).json()["items"] == []
    assert_problem(await client.get(f"{url}?area_code={VILLAGE_A1}", headers=OFFICER_B), 403)
    assert_problem(await client.get(f"{url}?area_code=37152", headers=DISTRICT), 422)


async def test_known_households_are_kept_idempotently_and_follow_a_move(api: Any) -> None:
    app, client = api
    campaign, h = await seed(app, client)
    again = HouseholdRegistered(household_id=h["never"], household_code="H", area_code=VILLAGE_B, member_count=2)
    await apply_event(app, again, at=REGISTERED + timedelta(days=1))
    moved = HouseholdUpdated(household_id=h["round_1"], area_code=VILLAGE_B, changed=["area_code"])
    await apply_event(app, moved)
    await apply_event(app, moved)
    # Registered before audit kept households, first seen updated: known from then on.
    unseen = uuid.uuid4()
    await apply_event(app, HouseholdUpdated(household_id=unseen, area_code=VILLAGE_B, changed=["head"]), at=REGISTERED)
    async with app.state.sessions() as s:
        never = await s.get(KnownHousehold, h["never"])
        assert never is not None and (never.area_code, never.registered_at) == (VILLAGE_A1, REGISTERED)
        assert await count(s, KnownHousehold) == 8
    assert await coverage_of(client, campaign) == {TOWNSHIP_A: (3, 1, 3333), TOWNSHIP_B: (3, 1, 3333)}


async def test_a_batch_registering_and_visiting_a_household_twice_keeps_one_of_each(api: Any) -> None:
    app, client = api
    campaign = await open_campaign(client)
    household = uuid.uuid4()
    registered = HouseholdRegistered(household_id=household, household_code="H", area_code=VILLAGE_A1, member_count=1)
    seen = VisitRecorded(
        household_id=household, visit_id=uuid.uuid4(), area_code=VILLAGE_A1, round=2, visited_on=date(2020, 5, 3),
        problem_count=0,
    )  # fmt: skip
    handlers = app.state.runtime.handlers
    applications = [handlers.bind(e.topic, envelope_of(e, at=REGISTERED)) for e in (registered, registered, seen, seen)]
    async with app.state.sessions() as session, session.begin():
        await handlers.prepare_all(session, applications)
        for application in applications:
            await application(session)
    async with app.state.sessions() as s:
        assert (await count(s, KnownHousehold), await count(s, CampaignVisit)) == (1, 1)
    assert await coverage_of(client, campaign) == {TOWNSHIP_A: (1, 1, 10_000)}


async def findings_of(app: Any) -> list[Finding]:
    async with app.state.sessions() as s:
        return list((await s.scalars(select(Finding).order_by(col(Finding.subject_id)))).all())


async def test_after_the_end_each_township_below_full_coverage_gets_one_finding(api: Any) -> None:
    app, client = api
    complete = await open_campaign(client, scope_level="township", scope_code=TOWNSHIP_B)  # before the visits
    campaign, _ = await seed(app, client)
    settings = service_settings("audit", database_url="unused")
    on_the_last_day = datetime(2020, 5, 31, 15, tzinfo=UTC)  # 23:00 on 31 May in the district
    assert await coverage_checks.run_coverage_checks(app.state.sessions, settings, now=on_the_last_day) == []
    assert await findings_of(app) == []
    checks = await coverage_checks.run_coverage_checks(app.state.sessions, settings, now=AFTER_THE_END)
    assert {(str(c.campaign_id), c.townships, len(c.below_full)) for c in checks} == {
        (campaign, 2, 1),
        (complete, 1, 0),
    }
    [finding] = await findings_of(app)
    assert (finding.subject_kind, finding.subject_id, finding.area_code) == ("unit", TOWNSHIP_A, TOWNSHIP_A)
    assert (finding.code, finding.category, finding.severity) == ("coverage_incomplete", "conduct", "serious")
    assert finding.description == "reached 1 of 4 households in 2020年第二轮入户走访 round 2"
    assert (finding.found_on, str(finding.campaign_id)) == (date(2020, 5, 31), campaign)
    async with app.state.sessions() as s:
        assert await count(s, RectificationTask) == 1
        judged = (await s.scalars(select(InspectionCampaign))).all()
        assert {c.coverage_checked_at for c in judged} == {AFTER_THE_END}
    # Once: a later run, or the district office's, judges nothing again.
    assert (
        await coverage_checks.run_coverage_checks(app.state.sessions, settings, now=AFTER_THE_END + timedelta(days=1))
        == []
    )
    app.dependency_overrides[request_time] = at(AFTER_THE_END + timedelta(days=2))
    response = await client.post("/v1/campaigns/checks", headers=DISTRICT)
    assert (response.status_code, response.json()["campaigns"], response.json()["findings"]) == (200, 0, 0)
    assert [(f.id, f.occurrences) for f in await findings_of(app)] == [(finding.id, 1)]
    read = (await client.get(f"/v1/campaigns/{campaign}", headers=DISTRICT)).json()
    assert read["coverage_checked_at"] is not None


async def test_the_district_office_runs_the_check_at_once_and_no_one_else_may(api: Any) -> None:
    app, client = api
    campaign, _ = await seed(app, client)
    app.dependency_overrides[request_time] = at(AFTER_THE_END)
    assert_problem(await client.post("/v1/campaigns/checks", headers=OFFICER_A), 403)
    assert_problem(await client.post("/v1/campaigns/checks", headers=auth("inspector")), 403)
    assert await findings_of(app) == []
    response = await client.post("/v1/campaigns/checks", headers=DISTRICT)
    assert response.status_code == 200, response.text
    assert (response.json()["campaigns"], response.json()["findings"]) == (1, 1)
    findings = (await client.get(f"/v1/findings?campaign_id={campaign}", headers=DISTRICT)).json()["items"]
    assert [(f["subject_id"], f["code"]) for f in findings] == [(TOWNSHIP_A, "coverage_incomplete")]


async def test_a_campaign_opened_after_its_rounds_visits_began_counts_them(api: Any) -> None:
    app, client = api
    reached, missed, other_round = [await register(app, VILLAGE_A1) for _ in range(3)]
    await visit(app, reached, VILLAGE_A1, "2020-05-10")
    await visit(app, reached, VILLAGE_A1, "2020-05-12")
    await visit(app, other_round, VILLAGE_A1, "2020-05-10", round=1)
    await visit(app, missed, VILLAGE_A1, "2020-04-30")  # before the campaign's dates
    campaign = await open_campaign(client)  # entered after the visits
    assert await coverage_of(client, campaign) == {TOWNSHIP_A: (3, 1, 3333)}
    await visit(app, missed, VILLAGE_A1, "2020-05-20")  # and later visits count as before
    assert await coverage_of(client, campaign) == {TOWNSHIP_A: (3, 2, 6666)}

"""Audit's lists narrowed by filters on SQLite: by area (a prefix), category, severity, status, a span of days on the
list's own date, the person answering and the campaign; a bad value is a 422 that changes nothing, an area outside
a township office's own a 403."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.api.clock import request_time
from shared.contracts.accountability import ResponsiblePerson, ResponsibleRole
from shared.contracts.households import ProblemCategory
from tests.support import assert_problem, auth, running_app
from tests.unit.test_audit_api import state
from tests.unit.test_audit_coverage import CAMPAIGN
from tests.unit.test_audit_support import NOW, OTHER_TOWNSHIP, TOWNSHIP, facts, open_task

DISTRICT = auth("district_office", sub="district-officer-1")
COMMISSION = auth("discipline_commission", sub="commission-1")
OFFICER = auth("township_office", area=TOWNSHIP, sub="township-officer-1")
OTHER_VILLAGE = f"{OTHER_TOWNSHIP}201"
CADRE = ResponsiblePerson(person_id="cadre-1", name="李四", unit="贾寨镇", role=ResponsibleRole.HELPER_CADRE)
OTHER_CADRE = ResponsiblePerson(person_id="cadre-2", name="王五", unit="温陈街道", role=ResponsibleRole.HELPER_CADRE)
# The three findings are opened on these days (district calendar), one a day from NOW (2020-05-11).
DAY_1, DAY_2, DAY_3 = "2020-05-11", "2020-05-12", "2020-05-13"
LATER = NOW + timedelta(days=8)  # the next week: the serious finding of day 2 is handed over


@asynccontextmanager
async def seeded_audit(url: str) -> AsyncIterator[tuple[Any, Any, dict[str, str]]]:
    """A severe housing finding in 贾寨镇 (cadre-1, referred at once) on day 1, a serious schooling one in another
    township (cadre-2, handed over weekly on LATER) on day 2, a general one of a campaign in 贾寨镇 (no person) on day
    3; a decision on each referral (a talk on the first, an admonishment on the second)."""
    async with running_app("audit", url) as (app, client):
        app.dependency_overrides[request_time] = lambda: LATER
        campaign = await client.post("/v1/campaigns", json=CAMPAIGN, headers=DISTRICT)
        ids = {"campaign": campaign.json()["id"]}
        sessions = app.state.sessions
        severe, _ = await open_task(sessions, facts("h1", grade="D", responsible=CADRE), now=NOW)
        dropout = facts("h2", code="school_dropout", grade=None, category=ProblemCategory.SCHOOLING, area=OTHER_VILLAGE)
        serious, _ = await open_task(sessions, replace(dropout, responsible=OTHER_CADRE), now=NOW + timedelta(days=1))
        general = facts(
            "h3",
            code="file_incomplete",
            grade=None,
            category=ProblemCategory.POLICY_DELIVERY,
            campaign_id=uuid.UUID(ids["campaign"]),
        )
        last, _ = await open_task(sessions, general, now=NOW + timedelta(days=2))
        ids |= {"severe": str(severe.id), "serious": str(serious.id), "general": str(last.id)}
        assert (await client.post("/v1/referrals/weekly-handover", headers=DISTRICT)).json()["referred"] == 1
        for referral in (await client.get("/v1/referrals", headers=COMMISSION)).json()["items"]:
            kind = "talk" if referral["finding_id"] == ids["severe"] else "admonishment"
            body = {"kind": kind, "person_name": "张三", "person_unit": "贾寨镇", "decided_on": "2020-05-19"}
            made = await client.post(
                f"/v1/referrals/{referral['id']}/accountability-actions", json=body, headers=COMMISSION
            )
            assert made.status_code == 201, made.text
        yield app, client, ids


@pytest.fixture
async def seeded(sqlite_url: Any) -> AsyncIterator[tuple[Any, Any, dict[str, str]]]:
    async with seeded_audit(await sqlite_url("audit")) as seeded:
        yield seeded


FINDING_FILTERS = [
    ("", {"severe", "serious", "general"}),
    (f"area_code={TOWNSHIP}", {"severe", "general"}),
    (f"area_code={OTHER_VILLAGE}", {"serious"}),
    ("area_code=371523", {"severe", "serious", "general"}),
    ("category=schooling", {"serious"}),
    ("severity=severe", {"severe"}),
    ("responsible_person_id=cadre-2", {"serious"}),
    (f"from={DAY_2}", {"serious", "general"}),
    (f"to={DAY_2}", {"severe", "serious"}),
    (f"from={DAY_2}&to={DAY_2}", {"serious"}),
    (f"area_code={TOWNSHIP}&severity=general", {"general"}),
]


def named(ids: dict[str, str], items: list[dict[str, Any]], field: str = "id") -> set[str]:
    by_id = {value: name for name, value in ids.items()}
    return {by_id[item[field]] for item in items}


@pytest.mark.parametrize(("query", "expected"), FINDING_FILTERS)
async def test_findings_are_filtered(seeded: Any, query: str, expected: set[str]) -> None:
    _, client, ids = seeded
    response = await client.get(f"/v1/findings?{query}", headers=DISTRICT)
    assert response.status_code == 200, response.text
    assert named(ids, response.json()["items"]) == expected


async def test_findings_of_a_campaign_and_of_a_status(seeded: Any) -> None:
    _, client, ids = seeded
    of_campaign = await client.get(f"/v1/findings?campaign_id={ids['campaign']}", headers=DISTRICT)
    assert named(ids, of_campaign.json()["items"]) == {"general"}
    assert (await client.get("/v1/findings?status=closed", headers=DISTRICT)).json()["items"] == []


@pytest.mark.parametrize(("query", "expected"), FINDING_FILTERS)
async def test_tasks_are_filtered_by_their_findings_and_their_opening(
    seeded: Any, query: str, expected: set[str]
) -> None:
    _, client, ids = seeded
    response = await client.get(f"/v1/rectification-tasks?{query}", headers=DISTRICT)
    assert response.status_code == 200, response.text
    assert named(ids, response.json()["items"], "finding_id") == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"severe", "serious"}),
        ("severity=serious", {"serious"}),
        (f"area_code={OTHER_TOWNSHIP}", {"serious"}),
        ("category=housing", {"severe"}),
        ("responsible_person_id=cadre-1", {"severe"}),
        (f"to={DAY_1}", {"severe"}),
        ("from=2020-05-19", {"serious"}),  # handed over on LATER
        ("reason=weekly_handover&area_code=371523", {"serious"}),
        ("campaign_id=" + str(uuid.uuid4()), set()),
    ],
)
async def test_referrals_are_filtered(seeded: Any, query: str, expected: set[str]) -> None:
    _, client, ids = seeded
    response = await client.get(f"/v1/referrals?{query}", headers=COMMISSION)
    assert response.status_code == 200, response.text
    assert named(ids, response.json()["items"], "finding_id") == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"severe", "serious"}),
        ("kind=talk", {"severe"}),
        (f"area_code={OTHER_TOWNSHIP}", {"serious"}),
        ("severity=severe&category=housing", {"severe"}),
        ("responsible_person_id=cadre-2", {"serious"}),
    ],
)
async def test_decisions_and_the_named_notice_are_filtered(seeded: Any, query: str, expected: set[str]) -> None:
    _, client, ids = seeded
    period = "from=2020-05-01&to=2020-05-31"
    actions = await client.get(f"/v1/accountability-actions?{period}&{query}", headers=COMMISSION)
    assert actions.status_code == 200, actions.text
    assert named(ids, actions.json()["items"], "finding_id") == expected
    notice = await client.get(f"/v1/named-notices?{period}&{query}", headers=COMMISSION)
    assert named(ids, notice.json()["items"], "finding_id") == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"campaign", "township"}),
        ("kind=targeted_supervision", {"township"}),
        ("round=2", {"campaign"}),
        (f"area_code={OTHER_VILLAGE}", {"campaign"}),
        (f"area_code={TOWNSHIP}", {"campaign", "township"}),
        ("status=ended", {"campaign"}),
        ("status=running", {"township"}),
        ("status=upcoming", set()),
        ("from=2020-06-01", {"township"}),
        ("to=2020-05-01", {"campaign"}),
        ("from=2020-05-31&to=2020-05-31", {"campaign", "township"}),
    ],
)
async def test_campaigns_are_filtered(seeded: Any, query: str, expected: set[str]) -> None:
    app, client, ids = seeded
    app.dependency_overrides[request_time] = lambda: datetime(2020, 6, 2, 2, tzinfo=UTC)
    township = {
        **CAMPAIGN,
        "kind": "targeted_supervision",
        "scope_level": "township",
        "scope_code": TOWNSHIP,
        "round": 3,
        "starts_on": "2020-05-15",
        "ends_on": "2020-06-30",
    }
    ids["township"] = (await client.post("/v1/campaigns", json=township, headers=DISTRICT)).json()["id"]
    response = await client.get(f"/v1/campaigns?{query}", headers=DISTRICT)
    assert response.status_code == 200, response.text
    assert named(ids, response.json()["items"]) == expected


async def test_the_views_are_filtered(seeded: Any) -> None:
    _, client, ids = seeded
    overdue = await client.get("/v1/views/overdue-tasks?responsible_person_id=cadre-1", headers=DISTRICT)
    assert named(ids, overdue.json()["items"], "finding_id") == {"severe"}
    groups = (await client.get("/v1/views/open-tasks?category=schooling", headers=DISTRICT)).json()["items"]
    assert [(g["key"], g["total"]) for g in groups] == [(OTHER_TOWNSHIP, 1)]
    period = "from=2020-05-01&to=2020-05-31"
    rates = (await client.get(f"/v1/views/rectification-rates?{period}&area_code={TOWNSHIP}", headers=DISTRICT)).json()
    assert {(r["township"], r["category"]) for r in rates["items"]} == {
        (TOWNSHIP, "housing"),
        (TOWNSHIP, "policy_delivery"),
    }
    url = f"/v1/views/referrals-and-accountability?{period}&area_code={OTHER_TOWNSHIP}"
    [month] = (await client.get(url, headers=COMMISSION)).json()["items"]
    assert (month["referrals_by_reason"], month["actions_by_kind"]) == ({"weekly_handover": 1}, {"admonishment": 1})


async def test_a_township_office_filters_within_its_own_area_only(seeded: Any) -> None:
    app, client, ids = seeded
    mine = await client.get(f"/v1/findings?area_code={TOWNSHIP}201", headers=OFFICER)
    assert named(ids, mine.json()["items"]) == {"severe", "general"}
    before = await state(app)
    for url in ("/v1/findings", "/v1/rectification-tasks", "/v1/views/overdue-tasks", "/v1/campaigns"):
        assert_problem(await client.get(f"{url}?area_code={OTHER_TOWNSHIP}", headers=OFFICER), 403)
    assert await state(app) == before


@pytest.mark.parametrize(
    "query",
    [
        "category=roads",
        "severity=minor",
        "status=pending",
        "area_code=3715231",
        "area_code=abc",
        "responsible_person_id=a%00b",
        "campaign_id=not-a-uuid",
        "from=2020-13-01",
        "from=1700-01-01",
        "from=2020-05-12&to=2020-05-11",
    ],
)
@pytest.mark.parametrize("url", ["/v1/findings", "/v1/rectification-tasks", "/v1/referrals"])
async def test_a_bad_filter_is_a_422_that_changes_nothing(seeded: Any, url: str, query: str) -> None:
    app, client, _ = seeded
    if url == "/v1/referrals" and query.startswith("status"):
        query = "reason=weekly"
    before = await state(app)
    body = assert_problem(await client.get(f"{url}?{query}", headers=DISTRICT), 422)
    if query.endswith("to=2020-05-11"):
        assert body["errors"] == [{"field": "query.to", "message": "before `from`", "code": "period_reversed"}]
    assert await state(app) == before


@pytest.mark.parametrize(
    "url",
    [
        "/v1/campaigns?status=over",
        "/v1/campaigns?round=0",
        "/v1/campaigns?from=2020-06-02&to=2020-06-01",
        "/v1/accountability-actions?from=2020-05-01&to=2020-05-31&kind=fine",
        "/v1/views/overdue-tasks?severity=minor",
        "/v1/views/open-tasks?area_code=1",
    ],
)
async def test_a_bad_filter_of_the_other_lists_is_a_422(seeded: Any, url: str) -> None:
    _, client, _ = seeded
    assert_problem(await client.get(url, headers=COMMISSION if "accountability" in url else DISTRICT), 422)

"""Every audit list is a page: walked with a small `limit`, each list gives the same rows in the same order as one
big page, none twice, none missed, ending with a null cursor; rows that tie on time are split by their id."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest

from shared.api.clock import request_time
from shared.contracts.audit import SubjectKind
from shared.contracts.households import ProblemCategory
from tests.support import assert_problem, auth, running_app
from tests.unit.test_audit_support import NOW, OTHER_TOWNSHIP, VILLAGE, facts, open_task

DISTRICT = auth("district_office", sub="district-officer-1")
COMMISSION = auth("discipline_commission", sub="commission-1")
THIRD_VILLAGE = "371523102201"
UNIT = "贾寨镇扶贫办"


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with running_app("audit", await sqlite_url("audit")) as (app, client):
        app.dependency_overrides[request_time] = lambda: NOW + timedelta(days=1)
        yield app, client


def with_params(url: str, params: dict[str, Any]) -> httpx.URL:
    """The URL with `params` added to its own query (httpx's `params=` would replace it)."""
    return httpx.URL(url).copy_merge_params(params)


async def walk(client: Any, url: str, headers: dict[str, str], limit: int) -> tuple[list[dict[str, Any]], int]:
    """Every item of a list, page by page, passing each `next_cursor` on; and how many pages it took."""
    items: list[dict[str, Any]] = []
    cursor, pages = None, 0
    while True:
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        response = await client.get(with_params(url, params), headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        items, pages, cursor = items + page["items"], pages + 1, page["next_cursor"]
        if cursor is None:
            return items, pages


async def assert_pages(
    client: Any,
    url: str,
    *,
    limit: int,
    headers: dict[str, str] = DISTRICT,
    key: Callable[[dict[str, Any]], Any] = lambda item: item["id"],
) -> list[dict[str, Any]]:
    """The list walked `limit` rows at a time is the list in one page: same rows, same order, no repeats."""
    whole = (await client.get(with_params(url, {"limit": 500}), headers=headers)).json()
    assert whole["next_cursor"] is None
    paged, pages = await walk(client, url, headers, limit)
    assert [key(item) for item in paged] == [key(item) for item in whole["items"]]
    assert len({str(key(item)) for item in paged}) == len(paged)
    assert len(paged) > limit and pages == math.ceil(len(paged) / limit)
    return paged


async def seed(app: Any) -> None:
    """Five severe findings at one moment in one township (five referrals), two serious ones an hour later in
    another, one in a third township: ties on time, and groups for the views."""
    for n in range(5):
        await open_task(app.state.sessions, facts(f"h{n}", grade="D", responsible_unit=f"贾寨镇第{n % 2}工作组"))
    for n in range(2):
        water = facts(f"w{n}", code="unsafe_water", grade=None, category=ProblemCategory.WATER)
        await open_task(
            app.state.sessions, replace(water, area_code=f"{OTHER_TOWNSHIP}201"), now=NOW + timedelta(hours=1)
        )
    await open_task(app.state.sessions, facts("t3", grade="C", area=THIRD_VILLAGE), now=NOW + timedelta(hours=2))


def newest_first(item: dict[str, Any], at: str) -> tuple[str, uuid.UUID]:
    return item[at], uuid.UUID(item["id"])


async def test_findings_tasks_and_referrals_page_newest_first(api: Any) -> None:
    app, client = api
    await seed(app)
    findings = await assert_pages(client, "/v1/findings", limit=3)
    assert len(findings) == 8
    assert findings == sorted(findings, key=lambda f: newest_first(f, "opened_at"), reverse=True)
    severe = await assert_pages(client, "/v1/findings?severity=severe", limit=2)  # filters keep working
    assert {f["severity"] for f in severe} == {"severe"} and len(severe) == 5
    tasks = await assert_pages(client, "/v1/rectification-tasks", limit=3)
    assert tasks == sorted(tasks, key=lambda t: newest_first(t, "opened_at"), reverse=True)
    referrals = await assert_pages(client, "/v1/referrals", limit=2, headers=COMMISSION)
    assert len(referrals) == 5
    assert referrals == sorted(referrals, key=lambda r: newest_first(r, "referred_at"), reverse=True)


async def test_a_subjects_history_pages_oldest_first(api: Any) -> None:
    app, client = api
    household = str(uuid.uuid4())
    for n in range(3):
        await open_task(app.state.sessions, facts(household, code=f"gap_{n}"), now=NOW + timedelta(minutes=n % 2))
        unit_problem = replace(facts(UNIT, code=f"funds_{n}", grade=None), subject_kind=SubjectKind.UNIT)
        await open_task(app.state.sessions, unit_problem)
    history = await assert_pages(
        client, f"/v1/subjects/household/{household}/history", limit=2, key=lambda h: h["finding"]["id"]
    )
    assert [h["finding"]["opened_at"] for h in history] == sorted(h["finding"]["opened_at"] for h in history)
    units = await assert_pages(client, f"/v1/subjects/unit/{UNIT}/history", limit=2, key=lambda h: h["finding"]["id"])
    assert {h["finding"]["subject_kind"] for h in units} == {"unit"}


async def test_the_views_page_in_key_order(api: Any) -> None:
    app, client = api
    await seed(app)
    for group_by in ("township", "owner", "unit"):
        await assert_pages(client, f"/v1/views/open-tasks?group_by={group_by}", limit=1, key=lambda g: g["key"])
    rates = await assert_pages(
        client,
        "/v1/views/rectification-rates?from=2020-05-01&to=2020-05-31",
        limit=1,
        key=lambda r: (r["township"], r["category"]),
    )
    assert [(r["township"], r["category"]) for r in rates] == sorted((r["township"], r["category"]) for r in rates)
    app.dependency_overrides[request_time] = lambda: NOW + timedelta(days=60)  # every deadline passed
    overdue = await assert_pages(client, "/v1/views/overdue-tasks", limit=3)
    assert len(overdue) == 8
    assert overdue == sorted(overdue, key=lambda t: (t["deadline"], uuid.UUID(t["id"])))


async def test_referrals_and_accountability_page_by_month(api: Any) -> None:
    app, client = api
    for month in range(3):
        await open_task(app.state.sessions, facts(f"m{month}", grade="D"), now=NOW + timedelta(days=31 * month))
    url = "/v1/views/referrals-and-accountability?from=2020-01-01&to=2020-12-31"
    months = await assert_pages(client, url, limit=1, headers=COMMISSION, key=lambda m: m["month"])
    assert [m["month"] for m in months] == ["2020-05", "2020-06", "2020-07"]


async def test_accountability_decisions_and_the_named_notice_page_oldest_first(api: Any) -> None:
    app, client = api
    for n in range(2):
        await open_task(app.state.sessions, facts(f"h{n}", grade="D"))
    referrals = (await client.get("/v1/referrals", headers=COMMISSION)).json()["items"]
    for referral in referrals:
        for day in ("2020-05-12", "2020-05-11", "2020-05-12"):  # two people decided on the same day
            body = {"kind": "talk", "person_name": "王小明", "person_unit": "贾寨镇", "decided_on": day}
            url = f"/v1/referrals/{referral['id']}/accountability-actions"
            assert (await client.post(url, json=body, headers=COMMISSION)).status_code == 201
    period = "from=2020-05-01&to=2020-05-31"
    actions = await assert_pages(client, f"/v1/accountability-actions?{period}", limit=4, headers=COMMISSION)
    assert [a["decided_on"] for a in actions] == ["2020-05-11"] * 2 + ["2020-05-12"] * 4
    notice = await assert_pages(client, f"/v1/named-notices?{period}", limit=4, headers=COMMISSION)
    assert notice == actions
    markdown = await client.get(f"/v1/named-notices?{period}&format=md&limit=1", headers=COMMISSION)
    assert "6 accountability decision(s)" in markdown.text  # the document is the whole period


async def test_campaigns_page_latest_start_first(api: Any) -> None:
    _, client = api
    for n, starts in enumerate(["2020-05-01", "2020-06-01", "2020-05-01", "2020-04-01", "2020-06-01"]):
        plan = {
            "name": f"自查评估 第{n + 1}组",
            "kind": "self_assessment",
            "scope_level": "village",
            "scope_code": VILLAGE,
            "round": n + 1,
            "starts_on": starts,
            "ends_on": "2020-06-30",
        }
        assert (await client.post("/v1/campaigns", json=plan, headers=DISTRICT)).status_code == 201
    campaigns = await assert_pages(client, "/v1/campaigns", limit=2)
    assert campaigns == sorted(campaigns, key=lambda c: newest_first(c, "starts_on"), reverse=True)


@pytest.mark.parametrize("cursor", ["not-a-cursor", "W10=", "WyJ4Il0="])  # garbage, [], ["x"]
async def test_a_cursor_not_made_by_the_service_is_refused(api: Any, cursor: str) -> None:
    _, client = api
    assert_problem(await client.get(f"/v1/findings?cursor={cursor}", headers=DISTRICT), 422)

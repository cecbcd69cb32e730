"""Audit's part of the half-year report (`GET /v1/report`): each figure as the README defines it, built through the
use cases and the API: a finding found the day before `from` and one the day after `to`, one closed in the period,
a reopened task, a referral and an accountability decision, another township; bad input refused."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from shared.api.clock import request_time
from shared.contracts.audit import SubjectKind
from shared.contracts.households import ProblemCategory
from tests.support import assert_problem, auth, running_app
from tests.unit.test_audit_support import OTHER_TOWNSHIP, TOWNSHIP, VILLAGE, facts, open_task

H1 = "/v1/report?from=2020-01-01&to=2020-06-30"
DISTRICT = auth("district_office", sub="district-officer-1")
INSPECTOR = auth("inspector", sub="inspector-1")
COMMISSION = auth("discipline_commission", sub="commission-1")
EVIDENCE = [{"kind": "photo", "reference": "archive://2020/05/h1.jpg"}]
OTHER_VILLAGE = OTHER_TOWNSHIP + "203"


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 4, tzinfo=UTC)  # noon in the district


async def step(client: Any, app: Any, on: date, url: str, body: Any, headers: dict[str, str]) -> Any:
    app.dependency_overrides[request_time] = lambda: at(on)
    r = await client.post(url, json=body, headers=headers)
    assert r.status_code in (200, 201), r.text
    return r.json()


async def work(client: Any, app: Any, task: Any, on: date, *, passed: bool) -> None:
    """The township starts and submits the task; an inspector checks it the same day."""
    base = f"/v1/rectification-tasks/{task.id}"
    township = auth("township_office", area=task.owner.removeprefix("township_office:"), sub="township-officer-1")
    await step(client, app, on, f"{base}/start", None, township)
    await step(client, app, on, f"{base}/submissions", {"summary": "done", "evidence": EVIDENCE}, township)
    await step(client, app, on, f"{base}/follow-up-checks", {"passed": passed, "notes": "回头看"}, INSPECTOR)


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with running_app("audit", await sqlite_url("audit")) as (app, client):
        yield app, client


async def district(app: Any, client: Any) -> None:
    """The period's findings: a severe house (referred at once), one in 温陈街道 closed in June, one reopened by its
    follow-up check with a decision on its referral, a project's, an inspector's own; and one found the day before
    `from` still open, one found the day after `to`."""
    sessions = app.state.sessions
    await open_task(sessions, facts("h1", grade="D"), now=at(date(2020, 3, 2)))
    _, closing = await open_task(sessions, facts("h2", grade="C", area=OTHER_VILLAGE), now=at(date(2020, 4, 1)))
    _, reopened = await open_task(sessions, facts("h5", grade="C"), now=at(date(2020, 5, 1)))
    project = replace(facts("p1", code="income_missing", grade=None), subject_kind=SubjectKind.PROJECT)
    await open_task(sessions, replace(project, category=ProblemCategory.PROJECT), now=at(date(2020, 4, 1)))
    await open_task(sessions, facts("h3", grade="C"), now=at(date(2019, 12, 31)))
    await open_task(sessions, facts("h4", grade="C"), now=at(date(2020, 7, 1)))
    await work(client, app, closing, date(2020, 5, 1), passed=True)
    await step(client, app, date(2020, 5, 1), f"/v1/rectification-tasks/{closing.id}/close", None, INSPECTOR)
    await work(client, app, reopened, date(2020, 6, 10), passed=False)
    manual = {
        "subject_kind": "household", "subject_id": "a4f1c1de-8d2a-4b7e-9a61-2d4f6b8c0e13", "area_code": VILLAGE,
        "category": "policy_delivery", "code": "file_incomplete", "description": "档案缺收入页", "evidence": EVIDENCE,
    }  # fmt: skip
    await step(client, app, date(2020, 6, 25), "/v1/findings", manual, INSPECTOR)
    app.dependency_overrides[request_time] = lambda: at(date(2020, 7, 10))
    referrals = (await client.get("/v1/referrals?reason=failed_follow_up", headers=COMMISSION)).json()["items"]
    decision = {"kind": "talk", "person_name": "王小明", "person_unit": "贾寨镇", "decided_on": "2020-06-15"}
    await step(client, app, date(2020, 7, 10), f"/v1/referrals/{referrals[0]['id']}/accountability-actions",
               decision, COMMISSION)  # fmt: skip
    app.dependency_overrides[request_time] = lambda: at(date(2020, 7, 10))


def figure(part: dict[str, Any], key: str, **by: str) -> int | None:
    values = [f["value"] for f in part["figures"] if f["key"] == key and f["by"] == by]
    assert len(values) <= 1, (key, by)
    return values[0] if values else None


async def report(client: Any, query: str = "&area_code=371523", headers: dict[str, str] = DISTRICT) -> dict[str, Any]:
    r = await client.get(H1 + query, headers=headers)
    assert r.status_code == 200, r.text
    part: dict[str, Any] = r.json()
    return part


async def test_findings_found_in_the_period_by_origin_township_and_severity(api: Any) -> None:
    app, client = api
    await district(app, client)
    part = await report(client)
    assert (part["service"], part["area_code"]) == ("audit", "371523")
    assert figure(part, "findings.found") == 5  # not the day before `from`, not the day after `to`
    assert figure(part, "findings.found", origin="household") == 3
    assert figure(part, "findings.found", origin="project") == 1
    assert figure(part, "findings.found", origin="inspector") == 1
    assert figure(part, "findings.found", origin="grievance") == 0  # a known zero
    assert figure(part, "findings.found", township=TOWNSHIP) == 4
    assert figure(part, "findings.found", township=OTHER_TOWNSHIP) == 1
    assert figure(part, "findings.found", severity="severe") == 1


async def test_rectified_open_overdue_and_the_rate(api: Any) -> None:
    app, client = api
    await district(app, client)
    part = await report(client)
    assert figure(part, "findings.rectified") == 1 and figure(part, "findings.rectified", township=OTHER_TOWNSHIP) == 1
    # open at the end: the severe house, the reopened one, the project's, the inspector's and the one found the day
    # before `from`; not the closed one, not the one found after the end
    assert figure(part, "findings.open") == 5
    # past their deadlines by the end: the severe house (7 days), the project's, the one of 31 December and the
    # reopened one (its new term of 15 days from 10 June); not the inspector's finding of 25 June
    assert figure(part, "findings.overdue") == 4
    assert figure(part, "findings.rectification_rate") == 2000  # 1 closed of 5 found
    assert figure(part, "findings.rectification_rate", township=OTHER_TOWNSHIP) == 10_000
    assert figure(part, "findings.rectification_rate", township=TOWNSHIP) == 0


async def test_reopened_tasks_referrals_and_accountability(api: Any) -> None:
    app, client = api
    await district(app, client)
    part = await report(client)
    assert figure(part, "tasks.reopened") == 1
    assert figure(part, "referrals.made", reason="severe_finding") == 1
    assert figure(part, "referrals.made", reason="failed_follow_up") == 1
    assert figure(part, "referrals.made", reason="weekly_handover") == 0
    assert figure(part, "accountability.decisions", kind="talk") == 1
    assert figure(part, "accountability.decisions") == 1


async def test_nothing_found_means_no_rate(api: Any) -> None:
    _, client = api
    part = await report(client)
    assert figure(part, "findings.found") == 0
    assert figure(part, "findings.rectification_rate") is None


async def test_a_township_reports_its_own_area_only(api: Any) -> None:
    app, client = api
    await district(app, client)
    mine = auth("township_office", area=OTHER_TOWNSHIP, sub="township-officer-9")
    part = await report(client, "", headers=mine)
    assert part["area_code"] == OTHER_TOWNSHIP
    assert (figure(part, "findings.found"), figure(part, "findings.rectified")) == (1, 1)
    assert figure(part, "findings.open") == 0
    assert_problem(await client.get(f"{H1}&area_code={TOWNSHIP}", headers=mine), 403)
    village = await report(client, f"&area_code={VILLAGE}")
    assert figure(village, "findings.found") == 4
    whole = await report(client, "")  # a district-wide caller names no area: the district
    assert whole["area_code"] == "371523"


@pytest.mark.parametrize(
    "query",
    [
        "/v1/report?from=2020-07-01&to=2020-06-30&area_code=371523",  # reversed
        "/v1/report?from=2020-01-01&to=2021-01-01&area_code=371523",  # 367 days
        "/v1/report?to=2020-06-30&area_code=371523",  # no start
        f"{H1}&area_code=37152",  # not an area code
    ],
)
async def test_bad_input_is_refused_with_a_problem(api: Any, query: str) -> None:
    _, client = api
    assert_problem(await client.get(query, headers=DISTRICT), 422)


async def test_who_may_read_it(api: Any) -> None:
    _, client = api
    assert_problem(await client.get(f"{H1}&area_code=371523", headers=auth("helper_cadre", area=VILLAGE)), 403)
    assert_problem(await client.get(f"{H1}&area_code=371523"), 401)

"""The audit API on SQLite: who may do what, bad input and forbidden actions as problem+json that change
nothing, the package and notice formats, the ledger endpoints, the views and the running overdue worker."""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import select
from sqlmodel import col

from services.audit.api import referrals as referrals_api
from services.audit.models import (
    AccountabilityAction,
    DisciplineReferral,
    Finding,
    InspectionCampaign,
    LedgerEntry,
    RectificationSubmission,
    RectificationTask,
)
from services.audit.rules import accountability as accountability_rules
from services.audit.rules import findings as findings_rules
from services.audit.rules import lifecycle
from shared.api.clock import request_time
from shared.contracts.audit import SubjectKind
from shared.messaging.outbox import OutboxMessage
from tests.kafka_support import eventually
from tests.support import assert_problem, auth, running_app, service_app, service_settings
from tests.unit.test_audit_support import NOW, OTHER_TOWNSHIP, TOWNSHIP, VILLAGE, count, facts, open_task

DISTRICT = auth("district_office", sub="district-officer-1")
INSPECTOR = auth("inspector", sub="inspector-1")
TOWNSHIP_OFFICER = auth("township_office", area=TOWNSHIP, sub="township-officer-1")
OTHER_TOWNSHIP_OFFICER = auth("township_office", area=OTHER_TOWNSHIP, sub="township-officer-9")
COMMISSION = auth("discipline_commission", sub="commission-1")
AUDITOR = auth("auditor", sub="auditor-1")
EVIDENCE = [{"kind": "photo", "reference": "archive://2020/05/h1.jpg"}]
HOUSEHOLD = str(uuid.uuid4())
MANUAL = {
    "subject_kind": "household",
    "subject_id": HOUSEHOLD,
    "area_code": VILLAGE,
    "category": "policy_delivery",
    "code": "file_incomplete",
    "description": "identification file missing the income page",
    "responsible_unit": "贾寨镇扶贫办",
    "evidence": EVIDENCE,
}
STATE = (
    Finding,
    RectificationTask,
    RectificationSubmission,
    DisciplineReferral,
    AccountabilityAction,
    InspectionCampaign,
    OutboxMessage,
    LedgerEntry,
)


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with running_app("audit", await sqlite_url("audit")) as (app, client):
        app.dependency_overrides[request_time] = lambda: NOW + timedelta(days=1)
        yield app, client


async def state(app: Any) -> tuple[object, ...]:
    async with app.state.sessions() as s:
        tasks = [t.model_dump() for t in (await s.scalars(select(RectificationTask))).all()]
        return (tasks, *[await count(s, model) for model in STATE])


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"evidence": []}, 422),
        ({"area_code": "371523"}, 422),  # a finding belongs to a township or village
        ({"subject_id": "not-a-household-id"}, 422),
        ({"code": "Bad Code"}, 422),
        ({"campaign_id": str(uuid.uuid4())}, 404),
        ({"unexpected": 1}, 422),
        ({"description": "户主身份证11010519491231002X, 房屋漏雨"}, 422),  # published in FindingRecorded
    ],
)
async def test_bad_manual_findings_are_refused_and_change_nothing(
    api: Any, change: dict[str, Any], status: int
) -> None:
    app, client = api
    before = await state(app)
    assert_problem(await client.post("/v1/findings", json={**MANUAL, **change}, headers=INSPECTOR), status)
    assert await state(app) == before


async def test_an_inspector_records_a_finding_and_a_repeat_adds_an_occurrence(api: Any) -> None:
    _, client = api
    first = await client.post("/v1/findings", json=MANUAL, headers=INSPECTOR)
    assert first.status_code == 201, first.text
    assert (first.json()["recorded_by"], first.json()["evidence"][0]["kind"]) == ("inspector-1", "photo")
    again = await client.post("/v1/findings", json=MANUAL, headers=INSPECTOR)
    assert (again.status_code, again.json()["id"], again.json()["occurrences"]) == (200, first.json()["id"], 2)
    tasks = (await client.get(f"/v1/rectification-tasks?finding_id={first.json()['id']}", headers=DISTRICT)).json()
    assert [t["owner"] for t in tasks["items"]] == ["township_office:371523101"]


@pytest.mark.parametrize("kind", ["household", "payment"])
async def test_every_spelling_of_an_id_is_the_same_subject(api: Any, kind: str) -> None:
    _, client = api
    spellings = [HOUSEHOLD.upper(), HOUSEHOLD.replace("-", ""), f"{{{HOUSEHOLD}}}", f"urn:uuid:{HOUSEHOLD}"]
    first = await client.post("/v1/findings", json={**MANUAL, "subject_kind": kind}, headers=INSPECTOR)
    for spelling in spellings:
        body = {**MANUAL, "subject_kind": kind, "subject_id": spelling}
        again = await client.post("/v1/findings", json=body, headers=INSPECTOR)
        assert (again.status_code, again.json()["id"]) == (200, first.json()["id"]), spelling
    assert (again.json()["subject_id"], again.json()["occurrences"]) == (HOUSEHOLD, 5)


# A unit's name of the longest length allowed, with the punctuation a path must carry encoded.
LONGEST_UNIT = ("贾寨镇人民政府(扶贫办) 第1组 #2 & 'A-B' ?50% [督查] \\ ·" + "x" * 64)[:64]


async def test_a_unit_of_the_longest_name_round_trips_through_its_history(api: Any) -> None:
    _, client = api
    assert len(LONGEST_UNIT) == 64
    body = {**MANUAL, "subject_kind": "unit", "subject_id": LONGEST_UNIT, "responsible_unit": LONGEST_UNIT}
    created = await client.post("/v1/findings", json=body, headers=INSPECTOR)
    assert created.status_code == 201, created.text
    assert (created.json()["subject_id"], created.json()["responsible_unit"]) == (LONGEST_UNIT, LONGEST_UNIT)
    history = await client.get(f"/v1/subjects/unit/{quote(LONGEST_UNIT, safe='')}/history", headers=DISTRICT)
    assert history.status_code == 200, history.text
    assert [(h["finding"]["id"], h["finding"]["responsible_unit"]) for h in history.json()["items"]] == [
        (created.json()["id"], LONGEST_UNIT)
    ]


@pytest.mark.parametrize(
    ("name", "read"),
    [
        ("贾寨镇/扶贫办", 404),  # no path segment holds a `/`, even encoded: its history could not be read
        (LONGEST_UNIT + "x", 422),  # longer than the history's path takes
        ("..", None),  # a dot segment, which clients resolve away: its path would be another route's
        ("贾寨镇\t扶贫办", 422),
    ],
)
async def test_a_unit_its_history_could_not_reach_is_refused(api: Any, name: str, read: int | None) -> None:
    app, client = api
    before = await state(app)
    for change in ({"responsible_unit": name}, {"subject_kind": "unit", "subject_id": name}):
        assert_problem(await client.post("/v1/findings", json={**MANUAL, **change}, headers=INSPECTOR), 422)
    assert await state(app) == before
    if read is not None:
        assert_problem(await client.get(f"/v1/subjects/unit/{quote(name, safe='')}/history", headers=DISTRICT), read)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/views/rectification-rates?from=2020-01-01&to=9999-12-31",
        "/v1/views/rectification-rates?from=0001-01-01&to=2020-01-01",
        "/v1/views/referrals-and-accountability?from=2020-01-01&to=9999-12-31",
        "/v1/handover-packages/9999-W52",
        "/v1/handover-packages/0001-W01",
        "/v1/ledger/verify?head=9223372036854775808:" + "0" * 64,
    ],
)
async def test_dates_and_numbers_beyond_the_calendar_are_refused(api: Any, path: str) -> None:
    _, client = api
    response = await client.get(path, headers=DISTRICT)
    assert response.status_code in (400, 422), response.text
    assert_problem(response, response.status_code)


async def test_a_deadline_at_the_end_of_time_is_refused(api: Any) -> None:
    app, client = api
    finding = await client.post("/v1/findings", json=MANUAL, headers=INSPECTOR)
    tasks = await client.get(f"/v1/rectification-tasks?finding_id={finding.json()['id']}", headers=DISTRICT)
    task = tasks.json()["items"][0]
    before = await state(app)
    for deadline in ("9999-12-31T23:00:00-05:00", "2035-01-01T00:00:00+08:00"):
        change = {"deadline": deadline, "reason": "extension"}
        r = await client.post(f"/v1/rectification-tasks/{task['id']}/deadline-changes", json=change, headers=DISTRICT)
        assert_problem(r, 422)
    assert await state(app) == before


@pytest.mark.parametrize("headers", [TOWNSHIP_OFFICER, auth("helper_cadre", area=VILLAGE), AUDITOR])
async def test_only_inspectors_and_the_district_record_findings(api: Any, headers: dict[str, str]) -> None:
    app, client = api
    before = await state(app)
    assert_problem(await client.post("/v1/findings", json=MANUAL, headers=headers), 403)
    assert await state(app) == before


async def test_the_lifecycle_over_http_and_its_refusals(api: Any) -> None:
    app, client = api
    _, task = await open_task(app.state.sessions)
    base = f"/v1/rectification-tasks/{task.id}"
    before = await state(app)
    assert_problem(await client.post(f"{base}/close", headers=DISTRICT), 409)  # closing without evidence
    assert_problem(await client.post(f"{base}/start", headers=OTHER_TOWNSHIP_OFFICER), 403)
    assert await state(app) == before
    assert (await client.post(f"{base}/start", headers=TOWNSHIP_OFFICER)).json()["status"] == "in_progress"
    before = await state(app)
    no_evidence = {"summary": "done", "evidence": []}
    body = assert_problem(await client.post(f"{base}/submissions", json=no_evidence, headers=TOWNSHIP_OFFICER), 409)
    assert "evidence" in body["detail"] and await state(app) == before
    submitted = await client.post(
        f"{base}/submissions", json={"summary": "house rebuilt", "evidence": EVIDENCE}, headers=TOWNSHIP_OFFICER
    )
    assert submitted.status_code == 201, submitted.text
    check = {"passed": True, "notes": "walls and roof rebuilt, seen on site"}
    assert_problem(await client.post(f"{base}/follow-up-checks", json=check, headers=TOWNSHIP_OFFICER), 403)
    assert (await client.post(f"{base}/follow-up-checks", json=check, headers=INSPECTOR)).status_code == 201
    closed = await client.post(f"{base}/close", headers=INSPECTOR)
    assert closed.json()["status"] == "closed"


async def test_a_findings_steps_are_bounded_and_the_bounds_are_stated(
    api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a history shows of one finding is bounded, as its document says: the steps past a limit are refused
    (409, nothing changed). The limits are shrunk here; the document states the real ones."""
    app, client = api
    monkeypatch.setattr(lifecycle, "ROUNDS_PER_TASK", 1)
    monkeypatch.setattr(lifecycle, "RESCHEDULES_PER_TASK", 1)
    monkeypatch.setattr(findings_rules, "EVIDENCE_PER_FINDING", 2)
    monkeypatch.setattr(accountability_rules, "DECISIONS_PER_FINDING", 1)
    first = await client.post("/v1/findings", json=MANUAL, headers=INSPECTOR)  # one evidence reference
    assert (await client.post("/v1/findings", json=MANUAL, headers=INSPECTOR)).json()["occurrences"] == 2
    before = await state(app)
    assert_problem(await client.post("/v1/findings", json=MANUAL, headers=INSPECTOR), 409)  # a third reference
    assert await state(app) == before
    task = (await client.get(f"/v1/rectification-tasks?finding_id={first.json()['id']}", headers=DISTRICT)).json()
    base = f"/v1/rectification-tasks/{task['items'][0]['id']}"
    moved = {"deadline": "2020-06-01T18:00:00+08:00", "reason": "materials delayed"}
    assert (await client.post(f"{base}/deadline-changes", json=moved, headers=DISTRICT)).status_code == 201
    again = {**moved, "deadline": "2020-06-02T18:00:00+08:00"}
    steps: list[tuple[str, dict[str, Any] | None, dict[str, str], int]] = [
        ("deadline-changes", again, DISTRICT, 409),
        ("start", None, TOWNSHIP_OFFICER, 200),
        ("submissions", {"summary": "file completed", "evidence": EVIDENCE}, TOWNSHIP_OFFICER, 201),
        ("follow-up-checks", {"passed": False, "notes": "income page still missing"}, INSPECTOR, 201),
        ("start", None, TOWNSHIP_OFFICER, 200),
    ]
    for step, body, headers, status in steps:
        response = await client.post(f"{base}/{step}", json=body, headers=headers)
        assert response.status_code == status, (step, response.text)
    before = await state(app)
    second_round = {"summary": "file completed again", "evidence": EVIDENCE}
    assert_problem(await client.post(f"{base}/submissions", json=second_round, headers=TOWNSHIP_OFFICER), 409)
    referral = (await client.get(f"/v1/referrals?finding_id={first.json()['id']}", headers=COMMISSION)).json()
    decision = {"kind": "talk", "person_name": "王小明", "person_unit": "贾寨镇", "decided_on": "2020-05-12"}
    url = f"/v1/referrals/{referral['items'][0]['id']}/accountability-actions"
    assert (await client.post(url, json=decision, headers=COMMISSION)).status_code == 201
    before = await state(app)
    assert_problem(await client.post(url, json={**decision, "kind": "sanction"}, headers=COMMISSION), 409)
    assert await state(app) == before
    history = app.openapi()["components"]["schemas"]["FindingHistoryRead"]["properties"]
    assert {name: history[name].get("maxItems") for name in ("submissions", "checks", "referrals", "actions")} == {
        "submissions": 20,
        "checks": 20,
        "referrals": 65,
        "actions": 50,
    }


async def test_verifying_ones_own_task_is_refused(api: Any) -> None:
    app, client = api
    _, task = await open_task(app.state.sessions)
    base = f"/v1/rectification-tasks/{task.id}"
    await client.post(f"{base}/start", headers=DISTRICT)
    await client.post(f"{base}/submissions", json={"summary": "done", "evidence": EVIDENCE}, headers=DISTRICT)
    before = await state(app)
    body = assert_problem(
        await client.post(f"{base}/follow-up-checks", json={"passed": True, "notes": "fine"}, headers=DISTRICT), 403
    )
    assert "someone else" in body["detail"] and await state(app) == before


async def test_a_township_officer_sees_only_their_township(api: Any) -> None:
    app, client = api
    _, mine = await open_task(app.state.sessions, facts("h-mine", grade="C"))
    _, theirs = await open_task(app.state.sessions, facts("h-theirs", grade="C", area=f"{OTHER_TOWNSHIP}201"))
    listed = (await client.get("/v1/rectification-tasks", headers=TOWNSHIP_OFFICER)).json()
    assert [t["id"] for t in listed["items"]] == [str(mine.id)]
    assert_problem(await client.get(f"/v1/rectification-tasks/{theirs.id}", headers=TOWNSHIP_OFFICER), 403)
    assert_problem(
        await client.get(f"/v1/rectification-tasks?township={OTHER_TOWNSHIP}", headers=TOWNSHIP_OFFICER), 403
    )
    assert_problem(await client.get("/v1/referrals", headers=TOWNSHIP_OFFICER), 403)
    summary = (await client.get("/v1/views/open-tasks", headers=TOWNSHIP_OFFICER)).json()
    assert [(g["key"], g["total"]) for g in summary["items"]] == [(TOWNSHIP, 1)]


async def test_reschedule_is_for_the_district_office_with_an_aware_deadline(api: Any) -> None:
    app, client = api
    _, task = await open_task(app.state.sessions)
    url = f"/v1/rectification-tasks/{task.id}/deadline-changes"
    new = (task.deadline + timedelta(days=5)).isoformat()
    before = await state(app)
    assert_problem(await client.post(url, json={"deadline": new, "reason": "more time"}, headers=TOWNSHIP_OFFICER), 403)
    assert_problem(await client.post(url, json={"deadline": new[:19], "reason": "naive time"}, headers=DISTRICT), 422)
    early = (task.opened_at - timedelta(days=1)).isoformat()
    assert_problem(await client.post(url, json={"deadline": early, "reason": "too early"}, headers=DISTRICT), 422)
    assert await state(app) == before
    moved = await client.post(url, json={"deadline": new, "reason": "materials delayed"}, headers=DISTRICT)
    assert moved.status_code == 201 and moved.json()["changed_by"] == "district-officer-1"


async def test_weekly_handover_and_the_package_formats(api: Any) -> None:
    app, client = api
    serious, _ = await open_task(app.state.sessions, facts("h-serious", grade="C"))
    severe, _ = await open_task(app.state.sessions, facts("h-severe", grade="D"))  # referred at once
    handed = (await client.post("/v1/referrals/weekly-handover", headers=DISTRICT)).json()
    # The answer counts; the referrals made are a page of the week's package, at the moment the answer gives.
    totals = {"by_reason": {"severe_finding": 1, "weekly_handover": 1}, "by_severity": {"serious": 1, "severe": 1}}
    assert handed == {
        "week": "2020-W20",
        "referred": 1,
        "referred_at": handed["referred_at"],
        "package": {"total": 2, **totals, "by_township": {TOWNSHIP: 2}},
    }
    made = (
        await client.get("/v1/handover-packages/2020-W20/referrals?reason=weekly_handover", headers=COMMISSION)
    ).json()
    assert [r["finding_id"] for r in made["items"]] == [str(serious.id)] and made["next_cursor"] is None
    assert datetime.fromisoformat(made["items"][0]["referred_at"]) == datetime.fromisoformat(handed["referred_at"])
    again = (await client.post("/v1/referrals/weekly-handover", headers=DISTRICT)).json()
    assert (again["referred"], again["package"]) == (0, handed["package"])
    assert_problem(await client.post("/v1/referrals/weekly-handover", headers=COMMISSION), 403)
    as_json = await client.get("/v1/handover-packages/2020-W20", headers=COMMISSION)
    assert [lead["finding_id"] for lead in as_json.json()["leads"]] == [str(severe.id), str(serious.id)]
    assert {k: as_json.json()[k] for k in ("total", *totals, "by_township")} == handed["package"]
    assert (as_json.json()["from"], as_json.json()["to"], as_json.json()["timezone"]) == (
        "2020-05-11",
        "2020-05-17",
        "Asia/Shanghai",
    )
    lead = as_json.json()["leads"][1]
    # No one named: the township office answers for it.
    assert (lead["referred_at"][-6:], lead["task_status"], lead["responsible_unit"]) == (
        "+08:00",
        "open",
        "township_office:371523101",
    )
    package = await client.get("/v1/handover-packages/2020-W20/referrals?limit=1", headers=COMMISSION)
    assert [r["finding_id"] for r in package.json()["items"]] == [str(severe.id)]  # in the order made
    assert_problem(await client.get("/v1/handover-packages/2020-W20/referrals", headers=TOWNSHIP_OFFICER), 403)
    assert (await client.get("/v1/handover-packages/2020-W19/referrals", headers=AUDITOR)).json()["items"] == []
    as_csv = await client.get("/v1/handover-packages/2020-W20?format=csv", headers=COMMISSION)
    assert as_csv.headers["content-type"].startswith("text/csv") and str(serious.id) in as_csv.text
    as_md = await client.get("/v1/handover-packages/2020-W20?format=md", headers=AUDITOR)
    assert as_md.headers["content-type"].startswith("text/markdown") and "h-serious" in as_md.text
    assert_problem(await client.get("/v1/handover-packages/2020-20", headers=COMMISSION), 422)
    assert_problem(await client.get("/v1/handover-packages/2020-W20?format=pdf", headers=COMMISSION), 422)
    assert_problem(await client.get("/v1/handover-packages/2020-W20", headers=TOWNSHIP_OFFICER), 403)


async def test_the_package_as_json_is_bounded_and_a_larger_week_is_read_by_pages(
    api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, client = api
    monkeypatch.setattr(referrals_api, "MAX_PACKAGE_LEADS", 2)
    for n in range(3):
        await open_task(app.state.sessions, facts(f"h{n}", grade="D"))  # three severe findings, referred at once
    problem = assert_problem(await client.get("/v1/handover-packages/2020-W20", headers=COMMISSION), 422)
    assert [e["code"] for e in problem["errors"]] == ["package_too_large"]
    as_csv = await client.get("/v1/handover-packages/2020-W20?format=csv", headers=COMMISSION)
    assert as_csv.status_code == 200 and len(as_csv.text.splitlines()) == 4  # the header and three leads
    first = (await client.get("/v1/handover-packages/2020-W20/referrals?limit=2", headers=COMMISSION)).json()
    rest = await client.get(
        f"/v1/handover-packages/2020-W20/referrals?limit=2&cursor={first['next_cursor']}", headers=COMMISSION
    )
    assert len(first["items"]) + len(rest.json()["items"]) == 3 and rest.json()["next_cursor"] is None
    document = app.openapi()["components"]["schemas"]["HandoverPackageRead"]["properties"]
    assert document["leads"]["maxItems"] == 10_000 and document["from"]["format"] == "date"


async def test_accountability_is_the_commissions_and_names_stay_out_of_logs(
    api: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app, client = api
    # audit's own loggers at DEBUG; drivers at INFO (aiosqlite logs SQL parameters at DEBUG: see README)
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="services")
    caplog.set_level(logging.DEBUG, logger="shared")
    await open_task(app.state.sessions, facts("h1", grade="D"))
    referral = (await client.get("/v1/referrals", headers=COMMISSION)).json()["items"][0]
    body = {"kind": "admonishment", "person_name": "王小明", "person_unit": "贾寨镇", "decided_on": "2020-05-12"}
    url = f"/v1/referrals/{referral['id']}/accountability-actions"
    before = await state(app)
    assert_problem(await client.post(url, json=body, headers=DISTRICT), 403)
    assert_problem(await client.post(url, json={**body, "kind": "fine"}, headers=COMMISSION), 422)
    assert await state(app) == before
    assert (await client.post(url, json=body, headers=COMMISSION)).status_code == 201
    notice = await client.get("/v1/named-notices?from=2020-05-01&to=2020-05-31&format=md", headers=DISTRICT)
    assert "王小明" in notice.text and "诫勉 (admonishment)" in notice.text
    assert notice.headers["content-type"].startswith("text/markdown")
    assert_problem(await client.get("/v1/named-notices?from=2020-05-31&to=2020-05-01", headers=DISTRICT), 422)
    for period in ("from=0&to=2020-05-31", "from=2020-05-01&to=1590883200"):  # not seconds since 1970
        assert_problem(await client.get(f"/v1/named-notices?{period}", headers=DISTRICT), 422)
    # No CSV notice: asking for one is refused, not answered with JSON.
    assert_problem(
        await client.get("/v1/named-notices?from=2020-05-01&to=2020-05-31&format=csv", headers=DISTRICT), 422
    )
    assert "王小明" not in caplog.text
    async with app.state.sessions() as s:
        payloads = (await s.scalars(select(col(OutboxMessage.payload)))).all()
    assert not any("王小明" in p for p in payloads)


async def test_ledger_verify_and_head_export(api: Any) -> None:
    app, client = api
    await open_task(app.state.sessions, facts("h1", grade="D"))
    verdict = (await client.get("/v1/ledger/verify", headers=AUDITOR)).json()
    assert (verdict["ok"], verdict["entries_checked"], verdict["first_break"]) == (True, 3, None)
    head = (await client.get("/v1/ledger/head", headers=AUDITOR)).json()
    assert (head["seq"], head["entry_hash"], head["algorithm"]) == (3, verdict["head_hash"], "sha256")
    again = await client.get(f"/v1/ledger/verify?head=3:{head['entry_hash']}", headers=COMMISSION)
    assert again.json()["ok"]
    assert_problem(await client.get("/v1/ledger/verify?head=3", headers=AUDITOR), 422)  # a sequence needs its hash
    truncated = (await client.get(f"/v1/ledger/verify?head=4:{head['entry_hash']}", headers=AUDITOR)).json()
    assert (truncated["ok"], truncated["first_break"]["kind"]) == (False, "head_truncated")
    assert_problem(await client.get("/v1/ledger/head", headers=TOWNSHIP_OFFICER), 403)


async def test_campaigns_are_set_up_by_the_district_office(api: Any) -> None:
    app, client = api
    plan = {
        "name": "挂牌督战 贾寨镇",
        "kind": "targeted_supervision",
        "scope_level": "township",
        "scope_code": TOWNSHIP,
        "round": 1,
        "starts_on": "2020-05-01",
        "ends_on": "2020-05-31",
        "teams": ["督战专班"],
    }
    before = await state(app)
    assert_problem(await client.post("/v1/campaigns", json=plan, headers=INSPECTOR), 403)
    assert_problem(
        await client.post(
            "/v1/campaigns", json={**plan, "scope_level": "district", "scope_code": "371523"}, headers=DISTRICT
        ),
        422,
    )
    assert_problem(await client.post("/v1/campaigns", json={**plan, "ends_on": "2020-04-01"}, headers=DISTRICT), 422)
    assert await state(app) == before
    campaign = (await client.post("/v1/campaigns", json=plan, headers=DISTRICT)).json()
    found = await client.post("/v1/findings", json={**MANUAL, "campaign_id": campaign["id"]}, headers=INSPECTOR)
    assert found.status_code == 201 and found.json()["campaign_id"] == campaign["id"]
    elsewhere = {**MANUAL, "area_code": f"{OTHER_TOWNSHIP}201", "campaign_id": campaign["id"]}
    assert_problem(await client.post("/v1/findings", json=elsewhere, headers=INSPECTOR), 409)


async def test_a_township_officer_sees_the_campaigns_whose_scope_reaches_its_township(api: Any) -> None:
    app, client = api
    project_here, project_elsewhere = str(uuid.uuid4()), str(uuid.uuid4())
    await open_task(app.state.sessions, replace(facts(project_here), subject_kind=SubjectKind.PROJECT))
    elsewhere = facts(project_elsewhere, area=f"{OTHER_TOWNSHIP}201")
    await open_task(app.state.sessions, replace(elsewhere, subject_kind=SubjectKind.PROJECT))
    scopes = {
        "district": ("district", "371523"),
        "own township": ("township", TOWNSHIP),
        "own village": ("village", VILLAGE),
        "other township": ("township", OTHER_TOWNSHIP),
        "other village": ("village", f"{OTHER_TOWNSHIP}201"),
        "project here": ("project", project_here),
        "project elsewhere": ("project", project_elsewhere),
        "project without findings": ("project", str(uuid.uuid4())),
    }
    ids = {}
    for name, (level, code) in scopes.items():
        plan = {
            "name": name,
            "kind": "self_assessment",
            "scope_level": level,
            "scope_code": code,
            "round": 1,
            "starts_on": "2020-05-01",
            "ends_on": "2020-05-31",
        }
        opened = await client.post("/v1/campaigns", json=plan, headers=DISTRICT)
        assert opened.status_code == 201, opened.text
        ids[name] = opened.json()["id"]
    reaching = {"district", "own township", "own village", "project here"}

    async def names(headers: dict[str, str]) -> set[str]:
        listed = (await client.get("/v1/campaigns?limit=500", headers=headers)).json()["items"]
        return {c["name"] for c in listed}

    assert await names(TOWNSHIP_OFFICER) == reaching
    assert await names(DISTRICT) == await names(INSPECTOR) == set(scopes)
    for name, campaign_id in ids.items():
        read = await client.get(f"/v1/campaigns/{campaign_id}", headers=TOWNSHIP_OFFICER)
        if name in reaching:
            assert (read.status_code, read.json()["name"]) == (200, name)
        else:
            assert_problem(read, 403)
    assert_problem(await client.get(f"/v1/campaigns/{uuid.uuid4()}", headers=TOWNSHIP_OFFICER), 404)
    assert await names(OTHER_TOWNSHIP_OFFICER) == {"district", "other township", "other village", "project elsewhere"}


@pytest.mark.parametrize(
    ("service", "path", "rule"),
    [
        ("audit", "/v1/campaigns", "sees the campaigns whose scope reaches its token's area"),
        ("audit", "/v1/campaigns/{campaign_id}", "sees the campaigns whose scope reaches its token's area"),
        ("households", "/v1/poverty-lines", "the poverty lines are the district's"),
    ],
)
def test_reads_that_are_not_of_one_area_state_their_own_area_rule(service: str, path: str, rule: str) -> None:
    """The generic rule ("a record outside the area is refused") would say what these routes do not do."""
    description = service_app(service, service_settings(service)).openapi()["paths"][path]["get"]["description"]
    assert rule in description and "lists hold only what lies inside it" not in description


async def test_views_rates_periods_and_history(api: Any) -> None:
    app, client = api
    household = str(uuid.uuid4())
    _, task = await open_task(app.state.sessions, facts(household, grade="D"))
    await open_task(app.state.sessions, facts("h2", grade="C"))
    app.dependency_overrides[request_time] = lambda: task.deadline + timedelta(hours=1)
    overdue = (await client.get("/v1/views/overdue-tasks", headers=DISTRICT)).json()["items"]
    assert [t["id"] for t in overdue] == [str(task.id)]  # severe: 7 days; the serious one has 15
    by_owner = (await client.get("/v1/views/open-tasks?group_by=owner", headers=DISTRICT)).json()["items"]
    assert [(g["key"], g["total"], g["overdue"]) for g in by_owner] == [("township_office:371523101", 2, 1)]
    rates_url = "/v1/views/rectification-rates?from=2020-05-01&to=2020-05-31"
    rates = (await client.get(rates_url, headers=DISTRICT)).json()["items"]
    assert [(r["township"], r["category"], r["findings"], r["closed"], r["rate"]) for r in rates] == [
        (TOWNSHIP, "housing", 2, 0, 0.0)
    ]
    periods = (
        await client.get("/v1/views/referrals-and-accountability?from=2020-05-01&to=2020-06-30", headers=COMMISSION)
    ).json()["items"]
    assert periods == [{"month": "2020-05", "referrals_by_reason": {"severe_finding": 1}, "actions_by_kind": {}}]
    history = (await client.get(f"/v1/subjects/household/{household}/history", headers=TOWNSHIP_OFFICER)).json()
    assert [(h["task"]["id"], [r["reason"] for r in h["referrals"]]) for h in history["items"]] == [
        (str(task.id), ["severe_finding"])
    ]
    spelt = await client.get(f"/v1/subjects/household/{household.upper()}/history", headers=TOWNSHIP_OFFICER)
    assert spelt.json() == history  # one household, however its id is written
    elsewhere = await client.get(f"/v1/subjects/household/{household}/history", headers=OTHER_TOWNSHIP_OFFICER)
    assert_problem(elsewhere, 403)
    assert_problem(await client.get("/v1/subjects/household/h1/history", headers=TOWNSHIP_OFFICER), 422)
    unknown = await client.get(f"/v1/subjects/household/{uuid.uuid4()}/history", headers=OTHER_TOWNSHIP_OFFICER)
    assert unknown.json() == {"items": [], "next_cursor": None}


async def test_the_running_service_marks_overdue_tasks_on_its_own(sqlite_url: Any) -> None:
    async with running_app("audit", await sqlite_url("audit"), overdue_scan_interval_s=0.05) as (app, client):
        _, task = await open_task(app.state.sessions)  # due in 2020: long past by the real clock

        async def referred_as_overdue() -> bool:
            found = (await client.get(f"/v1/referrals?finding_id={task.finding_id}", headers=COMMISSION)).json()
            return "overdue_task" in [r["reason"] for r in found["items"]]

        await eventually(referred_as_overdue, timeout=10)
        marked = (await client.get(f"/v1/rectification-tasks/{task.id}", headers=DISTRICT)).json()
        assert marked["overdue_at"] is not None

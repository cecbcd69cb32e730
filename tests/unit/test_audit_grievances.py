"""Grievances (群众诉求) on SQLite: intake by every channel, anonymous or with a sealed contact; bad input refused
and changing nothing; a township office never sees a contact; opening one is logged; triage both ways; the reply's
rules; the reply deadline's finding, once per grievance; lists and their filters; the contact vault and its keys."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from services.audit.domain import grievance_checks, grievances
from services.audit.models import Finding, Grievance, GrievanceContactReveal, LedgerEntry, RectificationTask
from services.audit.rules import grievances as rules
from services.audit.rules.contact_vault import Contact, ContactVault, mask_contact, parse_keys
from services.audit.rules.ledger import sha256_hex
from services.audit.settings import DEV_CONTACT_KEY, AuditSettings
from shared.api.clock import request_time
from shared.errors import Conflict, InvalidInput
from shared.messaging.outbox import OutboxMessage
from tests.support import assert_problem, auth, running_app, service_settings
from tests.unit.test_audit_support import NOW, OTHER_TOWNSHIP, TOWNSHIP, VILLAGE, count

DISTRICT = auth("district_office", sub="district-officer-1")
COMMISSION = auth("discipline_commission", sub="commission-1")
AUDITOR = auth("auditor", sub="auditor-1")
TOWNSHIP_OFFICER = auth("township_office", area=TOWNSHIP, sub="township-officer-1")
OTHER_TOWNSHIP_OFFICER = auth("township_office", area=OTHER_TOWNSHIP, sub="township-officer-9")
INSPECTOR = auth("inspector", sub="inspector-1")
NAME, PHONE = "王秀英", "13812345678"
HOUSEHOLD = str(uuid.uuid4())
RECEIVED = "2020-05-04"  # a week before NOW's day (2020-05-11); the reply is due 2020-05-19
GRIEVANCE = {
    "channel": "hotline_12317",
    "received_on": RECEIVED,
    "area_code": VILLAGE,
    "about": {"kind": "household", "id": HOUSEHOLD},
    "about_person": "村党支部书记 李某",
    "summary": "反映低保评议名单未公示",
    "contact": {"name": NAME, "phone": PHONE},
}
ANONYMOUS = {**{k: v for k, v in GRIEVANCE.items() if k != "contact"}, "anonymous": True}
FINDING = {
    "decision": "finding",
    "note": "经核查, 评议名单未公示",
    "category": "policy_delivery",
    "code": "notice_missing",
}
NO_FINDING = {"decision": "no_finding", "note": "经核查, 名单已于5月1日公示, 反映不属实"}
STATE = (Grievance, GrievanceContactReveal, Finding, RectificationTask, OutboxMessage, LedgerEntry)


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with running_app("audit", await sqlite_url("audit")) as (app, client):
        app.dependency_overrides[request_time] = lambda: NOW
        yield app, client


async def state(app: Any) -> list[int]:
    async with app.state.sessions() as s:
        return [await count(s, model) for model in STATE]


async def stored(app: Any, grievance_id: str) -> Grievance:
    async with app.state.sessions() as s:
        grievance: Grievance | None = await s.get(Grievance, uuid.UUID(grievance_id))
        assert grievance is not None
        return grievance


async def take(client: Any, body: dict[str, Any] | None = None, headers: dict[str, str] = DISTRICT) -> dict[str, Any]:
    response = await client.post("/v1/grievances", json=body or GRIEVANCE, headers=headers)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def at_day(app: Any, day: date) -> None:
    """Move the request clock to 10:00 on `day` in the district."""
    app.dependency_overrides[request_time] = lambda: datetime(day.year, day.month, day.day, 2, tzinfo=UTC)


# ---- intake ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", [c.value for c in rules.GrievanceChannel])
async def test_each_channel_is_taken_with_its_contact_sealed_and_its_reply_due_in_15_days(
    api: Any, channel: str
) -> None:
    app, client = api
    taken = await take(client, {**GRIEVANCE, "channel": channel})
    assert (taken["channel"], taken["status"], taken["response_due_on"]) == (channel, "received", "2020-05-19")
    assert (taken["contact_masked"], taken["overdue"], taken["about"]) == (
        "王**, 138****5678",
        False,
        {"kind": "household", "id": HOUSEHOLD},
    )
    row = await stored(app, taken["id"])
    assert row.contact_ciphertext is not None and PHONE.encode() not in row.contact_ciphertext
    assert NAME.encode() not in row.contact_ciphertext
    assert AuditSettings().contact_vault().open(row.contact_kid or "", row.contact_ciphertext, grievance_id=row.id) == (
        Contact(NAME, PHONE)
    )


async def test_an_anonymous_report_has_no_contact_at_all(api: Any) -> None:
    app, client = api
    taken = await take(client, ANONYMOUS)
    assert taken["anonymous"] is True and "contact_masked" not in taken
    row = await stored(app, taken["id"])
    assert (row.contact_kid, row.contact_ciphertext, row.contact_masked) == (None, None, None)
    revealed = await client.post(f"/v1/grievances/{taken['id']}/contact", json={"reason": "回访"}, headers=DISTRICT)
    assert_problem(revealed, 409)


async def test_the_response_term_is_a_setting(sqlite_url: Any) -> None:
    async with running_app("audit", await sqlite_url("audit"), grievance_response_days=30) as (app, client):
        app.dependency_overrides[request_time] = lambda: NOW
        assert (await take(client))["response_due_on"] == "2020-06-03"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"summary": "举报人身份证11010519491231002X, 低保不公"}, None),  # an ID number in free text
        ({"contact": {"name": "李四 371523196001010015", "phone": PHONE}}, None),
        ({"anonymous": True}, "contact_anonymous"),  # a contact with an anonymous report
        ({"contact": None}, "contact_missing"),
        ({"channel": "wechat"}, "enum"),
        ({"received_on": "2020-05-12"}, "date_in_future"),  # NOW's day is 2020-05-11
        ({"contact": {"name": NAME, "phone": "12345"}}, "string_pattern_mismatch"),
        ({"area_code": "371523"}, None),  # a grievance lies in a township or a village
        ({"about": {"kind": "payment", "id": HOUSEHOLD}}, None),
        ({"unexpected": 1}, "extra_forbidden"),
    ],
)
async def test_bad_grievances_are_refused_clearly_and_change_nothing(
    api: Any, change: dict[str, Any], code: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    app, client = api
    before = await state(app)
    with caplog.at_level(logging.DEBUG):
        refused = assert_problem(
            await client.post("/v1/grievances", json={**GRIEVANCE, **change}, headers=DISTRICT), 422
        )
    if code is not None:
        assert code in {e["code"] for e in refused["errors"]}, refused
    assert await state(app) == before
    assert "371523196001010015" not in json.dumps(refused) + caplog.text
    assert "11010519491231002X" not in json.dumps(refused) + caplog.text


async def test_an_id_number_in_the_summary_is_named_as_the_reason(api: Any) -> None:
    _, client = api
    body = {**GRIEVANCE, "summary": "举报人身份证 110105 19491231 002X, 低保不公"}
    refused = assert_problem(await client.post("/v1/grievances", json=body, headers=DISTRICT), 422)
    [error] = refused["errors"]
    assert (error["field"], "ID-card number" in error["message"]) == ("body.summary", True)


async def test_the_contact_never_reaches_a_log(api: Any, caplog: pytest.LogCaptureFixture) -> None:
    _, client = api
    with caplog.at_level(logging.DEBUG):
        taken = await take(client)
        await client.post(f"/v1/grievances/{taken['id']}/contact", json={"reason": "回访"}, headers=COMMISSION)
    assert PHONE not in caplog.text and NAME not in caplog.text


async def test_a_retried_intake_records_one_grievance(api: Any) -> None:
    app, client = api
    key = {**DISTRICT, "Idempotency-Key": "hotline-2020-05-04-0001"}
    first = await client.post("/v1/grievances", json=GRIEVANCE, headers=key)
    again = await client.post("/v1/grievances", json=GRIEVANCE, headers=key)
    assert (first.status_code, again.status_code, again.json()["id"]) == (201, 200, first.json()["id"])
    async with app.state.sessions() as s:
        assert await count(s, Grievance) == 1


# ---- a township office, and who may do what ---------------------------------------------------------------------


async def test_a_township_office_never_sees_a_contact(api: Any) -> None:
    _, client = api
    own = await take(client, headers=TOWNSHIP_OFFICER)  # a township takes one of its own area: no contact back
    assert "contact_masked" not in own
    theirs = await take(client)
    assert (await client.get(f"/v1/grievances/{theirs['id']}", headers=DISTRICT)).json()["contact_masked"]
    listed = (await client.get("/v1/grievances", headers=TOWNSHIP_OFFICER)).json()["items"]
    read = (await client.get(f"/v1/grievances/{theirs['id']}", headers=TOWNSHIP_OFFICER)).json()
    triaged = await client.post(f"/v1/grievances/{theirs['id']}/triage", json=FINDING, headers=TOWNSHIP_OFFICER)
    revealed = await client.post(
        f"/v1/grievances/{theirs['id']}/contact", json={"reason": "x"}, headers=TOWNSHIP_OFFICER
    )
    reveals = await client.get(f"/v1/grievances/{theirs['id']}/contact-reveals", headers=TOWNSHIP_OFFICER)
    assert len(listed) == 2 and all("contact_masked" not in item for item in listed)
    assert read["id"] == theirs["id"] and "contact_masked" not in read
    for refused in (triaged, revealed, reveals):
        assert_problem(refused, 403)
    everything = json.dumps([own, listed, read, triaged.json(), revealed.json(), reveals.json()], ensure_ascii=False)
    assert PHONE not in everything and "138****" not in everything and "王**" not in everything


async def test_a_township_office_reaches_only_its_own_area(api: Any) -> None:
    _, client = api
    taken = await take(client)
    assert_problem(await client.get(f"/v1/grievances/{taken['id']}", headers=OTHER_TOWNSHIP_OFFICER), 403)
    assert (await client.get("/v1/grievances", headers=OTHER_TOWNSHIP_OFFICER)).json()["items"] == []
    assert_problem(await client.get(f"/v1/grievances?area_code={TOWNSHIP}", headers=OTHER_TOWNSHIP_OFFICER), 403)
    assert_problem(await client.post("/v1/grievances", json=GRIEVANCE, headers=OTHER_TOWNSHIP_OFFICER), 403)


async def test_who_may_do_what(api: Any) -> None:
    _, client = api
    taken = await take(client, headers=COMMISSION)
    auditor_read = (await client.get(f"/v1/grievances/{taken['id']}", headers=AUDITOR)).json()
    assert auditor_read["contact_masked"] == "王**, 138****5678"
    assert_problem(await client.post("/v1/grievances", json=GRIEVANCE, headers=AUDITOR), 403)
    assert_problem(await client.get("/v1/grievances", headers=INSPECTOR), 403)
    assert_problem(await client.post(f"/v1/grievances/{taken['id']}/triage", json=FINDING, headers=AUDITOR), 403)
    assert_problem(await client.post("/v1/grievances/checks", headers=COMMISSION), 403)
    assert_problem(await client.get(f"/v1/grievances/{uuid.uuid4()}", headers=DISTRICT), 404)


# ---- the contact opened ----------------------------------------------------------------------------------------


async def test_opening_a_contact_records_who_when_and_why_in_the_log(api: Any) -> None:
    app, client = api
    taken = await take(client)
    path = f"/v1/grievances/{taken['id']}/contact"
    assert_problem(await client.post(path, json={}, headers=DISTRICT), 422)  # the reason is required
    revealed = await client.post(path, json={"reason": "核查需回访举报人"}, headers=COMMISSION)
    assert revealed.status_code == 200, revealed.text
    assert revealed.headers["cache-control"] == "no-store"
    assert (revealed.json()["name"], revealed.json()["phone"]) == (NAME, PHONE)
    log = (await client.get(f"/v1/grievances/{taken['id']}/contact-reveals", headers=AUDITOR)).json()["items"]
    assert [(r["revealed_by"], r["reason"]) for r in log] == [("commission-1", "核查需回访举报人")]
    async with app.state.sessions() as s:
        reveal = (await s.scalars(select(GrievanceContactReveal))).one()
        entry = (await s.scalars(select(LedgerEntry).where(col(LedgerEntry.source).contains("contact_revealed")))).one()
    assert entry.source == f"audit:grievance_contact_revealed/{reveal.id}"
    facts = json.dumps(grievances.reveal_facts(reveal), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert entry.payload_hash == sha256_hex(facts.encode())  # the row can be checked against the log
    assert (await client.get("/v1/ledger/verify", headers=AUDITOR)).json()["ok"] is True


async def test_a_contact_moved_to_another_grievance_does_not_open(api: Any) -> None:
    app, client = api
    first, second = await take(client), await take(client, ANONYMOUS)
    async with app.state.sessions() as s, s.begin():
        source, target = await s.get(Grievance, uuid.UUID(first["id"])), await s.get(Grievance, uuid.UUID(second["id"]))
        assert source is not None and target is not None
        target.contact_kid, target.contact_ciphertext = source.contact_kid, source.contact_ciphertext
    before = await state(app)
    moved = await client.post(f"/v1/grievances/{second['id']}/contact", json={"reason": "回访"}, headers=DISTRICT)
    assert PHONE not in assert_problem(moved, 409)["detail"]
    assert await state(app) == before  # a refused opening is not logged as one


# ---- triage and reply ------------------------------------------------------------------------------------------


async def test_triage_opens_a_finding_on_the_subject_found_the_day_triaged(api: Any) -> None:
    app, client = api
    taken = await take(client)
    triaged = await client.post(f"/v1/grievances/{taken['id']}/triage", json=FINDING, headers=DISTRICT)
    assert triaged.status_code == 200, triaged.text
    assert (triaged.json()["status"], triaged.json()["triaged_by"]) == ("triaged", "district-officer-1")
    async with app.state.sessions() as s:
        finding = (await s.scalars(select(Finding))).one()
        types = (await s.scalars(select(col(OutboxMessage.event_type)))).all()
    assert triaged.json()["finding_id"] == str(finding.id)
    assert (finding.subject_kind, finding.subject_id, finding.area_code) == ("household", HOUSEHOLD, VILLAGE)
    # Confirmed at triage on 11 May, a week after it was received: found then, not late, its term from then.
    assert (finding.code, finding.category) == ("notice_missing", "policy_delivery")
    assert finding.found_on == date(2020, 5, 11)
    assert (finding.occurrences, triaged.json()["received_on"]) == (1, RECEIVED)
    async with app.state.sessions() as s:
        assert (await s.scalars(select(col(Finding.code)))).all() == ["notice_missing"]  # no late_reporting
        task = (await s.scalars(select(RectificationTask))).one()
    assert task.deadline > NOW + timedelta(days=7)
    assert (finding.source_ref, finding.description) == (taken["id"], FINDING["note"])
    assert finding.evidence == [{"kind": "document", "reference": f"grievance:{taken['id']}", "note": "hotline_12317"}]
    assert "gov.poverty.audit.finding_recorded.v1" in types
    assert PHONE not in json.dumps(triaged.json()) and "summary" not in finding.description
    again = await client.post(f"/v1/grievances/{taken['id']}/triage", json=NO_FINDING, headers=COMMISSION)
    assert_problem(again, 409)


async def test_a_triage_note_naming_the_complainant_is_refused_and_changes_nothing(api: Any) -> None:
    app, client = api
    taken = await take(client)
    before = await state(app)
    path = f"/v1/grievances/{taken['id']}/triage"
    for note in (f"举报人{NAME}反映属实", "举报人王 秀英反映属实", "回电 138 1234 5678 核实", f"电话{PHONE}"):
        refused = assert_problem(await client.post(path, json={**FINDING, "note": note}, headers=DISTRICT), 422)
        assert refused["errors"][0]["code"] == "note_names_complainant"
        assert NAME not in json.dumps(refused) and PHONE not in json.dumps(refused)
        assert await state(app) == before
    assert (await client.post(path, json=FINDING, headers=DISTRICT)).status_code == 200


async def test_a_grievance_about_no_subject_is_a_finding_on_its_area(api: Any) -> None:
    app, client = api
    taken = await take(client, {k: v for k, v in GRIEVANCE.items() if k != "about"})
    body = {**FINDING, "severity": "severe"}
    await client.post(f"/v1/grievances/{taken['id']}/triage", json=body, headers=DISTRICT)
    async with app.state.sessions() as s:
        finding = (await s.scalars(select(Finding).where(col(Finding.code) == "notice_missing"))).one()
    assert (finding.subject_kind, finding.subject_id, finding.severity) == ("unit", VILLAGE, "severe")


async def test_no_finding_records_why(api: Any) -> None:
    app, client = api
    taken = await take(client)
    path = f"/v1/grievances/{taken['id']}/triage"
    before = await state(app)
    for bad in ({**NO_FINDING, "code": "notice_missing"}, {k: v for k, v in NO_FINDING.items() if k != "note"}):
        assert_problem(await client.post(path, json=bad, headers=DISTRICT), 422)
    assert_problem(await client.post(path, json={**FINDING, "code": None}, headers=DISTRICT), 422)
    assert await state(app) == before
    triaged = (await client.post(path, json=NO_FINDING, headers=DISTRICT)).json()
    assert (triaged["status"], triaged["finding_id"], triaged["triage_note"]) == ("triaged", None, NO_FINDING["note"])
    async with app.state.sessions() as s:
        assert await count(s, Finding) == 0


async def test_the_reply_comes_once_after_triage_and_is_dated_sensibly(api: Any) -> None:
    app, client = api
    taken = await take(client)
    path = f"/v1/grievances/{taken['id']}/reply"
    reply = {"replied_on": "2020-05-10", "reply": "已电话答复"}
    assert_problem(await client.post(path, json=reply, headers=DISTRICT), 409)  # not triaged yet
    await client.post(f"/v1/grievances/{taken['id']}/triage", json=NO_FINDING, headers=DISTRICT)
    before = await state(app)
    for day, code in (("2020-05-03", "before_received"), ("2020-05-12", "date_in_future")):
        refused = assert_problem(await client.post(path, json={**reply, "replied_on": day}, headers=DISTRICT), 422)
        assert refused["errors"][0] == {"field": "body.replied_on", "message": refused["detail"], "code": code}
    assert await state(app) == before
    replied = (await client.post(path, json=reply, headers=COMMISSION)).json()
    assert (replied["status"], replied["replied_on"], replied["replied_by"]) == (
        "replied",
        "2020-05-10",
        "commission-1",
    )
    assert_problem(await client.post(path, json=reply, headers=DISTRICT), 409)


# ---- the reply deadline ----------------------------------------------------------------------------------------


async def test_an_unanswered_grievance_opens_one_finding_of_its_township_once(api: Any) -> None:
    app, client = api
    first = await take(client, {**ANONYMOUS, "received_on": "2020-05-03"})  # due 2020-05-18
    second, answered = await take(client), await take(client)  # due 2020-05-19
    await client.post(f"/v1/grievances/{answered['id']}/triage", json=NO_FINDING, headers=DISTRICT)
    await client.post(
        f"/v1/grievances/{answered['id']}/reply", json={"replied_on": "2020-05-11", "reply": "已答复"}, headers=DISTRICT
    )

    async def check(day: date) -> Any:
        at_day(app, day)
        return (await client.post("/v1/grievances/checks", headers=DISTRICT)).json()

    assert await check(date(2020, 5, 18)) == {"checked_on": "2020-05-18", "unanswered": 0}  # its term's last day
    assert [(await check(day))["unanswered"] for day in (date(2020, 5, 19), date(2020, 5, 20))] == [1, 1]
    assert (await check(date(2020, 5, 20)))["unanswered"] == 0  # each grievance once
    async with app.state.sessions() as s:
        finding = (await s.scalars(select(Finding).where(col(Finding.code) == rules.UNANSWERED_CODE))).one()
        marked = {str(g.id): g.unanswered_finding_id for g in (await s.scalars(select(Grievance))).all()}
    assert (finding.subject_kind, finding.subject_id, finding.area_code) == ("unit", TOWNSHIP, TOWNSHIP)
    assert (finding.category, finding.severity, finding.occurrences) == ("conduct", "serious", 2)
    assert (finding.source_ref, finding.found_on) == (first["id"], date(2020, 5, 19))
    assert marked == {first["id"]: finding.id, second["id"]: finding.id, answered["id"]: None}
    assert PHONE not in finding.description and "低保" not in finding.description
    overdue = (await client.get("/v1/grievances?overdue=true", headers=DISTRICT)).json()["items"]
    assert [g["id"] for g in overdue] == [second["id"], first["id"]]
    assert all(g["overdue"] and g["unanswered_finding_id"] == str(finding.id) for g in overdue)


async def test_the_scheduled_run_works_in_batches_until_none_is_left(sqlite_url: Any) -> None:
    async with running_app("audit", await sqlite_url("audit"), scan_batch_size=2) as (app, client):
        app.dependency_overrides[request_time] = lambda: NOW
        for area in (VILLAGE, f"{OTHER_TOWNSHIP}001", f"{OTHER_TOWNSHIP}002", "371523108"):
            await take(client, {**GRIEVANCE, "area_code": area})
        settings = app.state.runtime.settings
        later = NOW + timedelta(days=30)
        assert await grievance_checks.run_grievance_checks(app.state.sessions, settings, now=later) == 4
        assert await grievance_checks.run_grievance_checks(app.state.sessions, settings, now=later) == 0
        async with app.state.sessions() as s:
            findings = (await s.scalars(select(Finding).where(col(Finding.code) == rules.UNANSWERED_CODE))).all()
        assert sorted((f.subject_id, f.occurrences) for f in findings) == [
            (TOWNSHIP, 1),
            (OTHER_TOWNSHIP, 2),
            ("371523108", 1),
        ]


# ---- lists -----------------------------------------------------------------------------------------------------


async def test_lists_filter_and_page(api: Any) -> None:
    _, client = api
    hotline = await take(client)
    letter = await take(client, {**ANONYMOUS, "channel": "letters_visits", "received_on": "2020-05-06"})
    online = await take(client, {**GRIEVANCE, "channel": "online", "received_on": "2020-04-01", "area_code": TOWNSHIP})
    await client.post(f"/v1/grievances/{letter['id']}/triage", json=NO_FINDING, headers=DISTRICT)

    async def ids(query: str) -> list[str]:
        answer = await client.get(f"/v1/grievances?{query}", headers=DISTRICT)
        assert answer.status_code == 200, answer.text
        return [g["id"] for g in answer.json()["items"]]

    assert await ids("") == [letter["id"], hotline["id"], online["id"]]  # latest received first
    assert await ids("status=triaged") == [letter["id"]]
    assert await ids("channel=online") == [online["id"]]
    assert await ids(f"area_code={VILLAGE}") == [letter["id"], hotline["id"]]
    assert await ids("overdue=true") == [online["id"]]  # due 2020-04-16
    assert await ids("overdue=false") == [letter["id"], hotline["id"]]
    assert await ids("from=2020-05-04&to=2020-05-05") == [hotline["id"]]
    assert_problem(await client.get("/v1/grievances?from=2020-05-05&to=2020-05-04", headers=DISTRICT), 422)
    first = (await client.get("/v1/grievances?limit=2", headers=DISTRICT)).json()
    rest = (await client.get(f"/v1/grievances?limit=2&cursor={first['next_cursor']}", headers=DISTRICT)).json()
    assert [g["id"] for g in first["items"] + rest["items"]] == [letter["id"], hotline["id"], online["id"]]
    assert rest["next_cursor"] is None


# ---- rules, the vault and its keys -----------------------------------------------------------------------------


def test_the_rules_of_a_grievance() -> None:
    assert rules.response_due_on(date(2020, 5, 4), 15) == date(2020, 5, 19)
    assert not rules.is_unanswered("received", date(2020, 5, 19), date(2020, 5, 19))
    assert rules.is_unanswered("triaged", date(2020, 5, 19), date(2020, 5, 20))
    assert not rules.is_unanswered("replied", date(2020, 5, 19), date(2021, 1, 1))
    with pytest.raises(Conflict):
        rules.check_triage("triaged", rules.TriageDecision.NO_FINDING, category=None, code=None)
    with pytest.raises(InvalidInput):
        rules.check_triage("received", rules.TriageDecision.FINDING, category="conduct", code=None)
    assert len(rules.finding_description("x" * 1500)) == rules.FINDING_DESCRIPTION_MAX
    assert mask_contact("欧阳娜娜", "0635-8241234") == "欧**, 063****1234"


def test_the_vault_seals_for_one_grievance_and_rotates() -> None:
    old_key, new_key = b"a" * 32, b"b" * 32
    grievance_id = uuid.uuid4()
    sealed = ContactVault({"k1": old_key}, "k1").seal(Contact(NAME, PHONE), grievance_id=grievance_id)
    rotated = ContactVault({"k1": old_key, "k2": new_key}, "k2")
    assert rotated.open(sealed.kid, sealed.ciphertext, grievance_id=grievance_id) == Contact(NAME, PHONE)
    assert rotated.seal(Contact(NAME, PHONE), grievance_id=grievance_id).kid == "k2"
    with pytest.raises(ValueError, match="does not decrypt"):
        rotated.open(sealed.kid, sealed.ciphertext, grievance_id=uuid.uuid4())
    with pytest.raises(ValueError, match="no longer configured"):
        ContactVault({"k2": new_key}, "k2").open(sealed.kid, sealed.ciphertext, grievance_id=grievance_id)
    with pytest.raises(ValueError, match="grievance contact keys"):
        parse_keys("k1")


def test_production_refuses_the_development_contact_key() -> None:
    real_key = base64.b64encode(b"r" * 32).decode()
    prod: dict[str, Any] = {"environment": "prod", "jwt_secret": "x" * 40, "database_url": "postgresql://u:p@db/audit"}
    with pytest.raises(ValueError, match="development key"):
        service_settings("audit", **prod, grievance_contact_keys=f"dev-1:{DEV_CONTACT_KEY}")
    with pytest.raises(ValueError, match="grievance_contact_active_kid"):
        service_settings("audit", grievance_contact_keys=f"k9:{real_key}")
    settings = service_settings(
        "audit", **prod, grievance_contact_keys=f"k9:{real_key}", grievance_contact_active_kid="k9"
    )
    assert settings.contact_vault().active_kid == "k9"

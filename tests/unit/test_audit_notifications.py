"""Notifications (提醒) on SQLite: written with each reminder, overdue mark, reopening and referral to the finding's
responsible person; the inbox reads and marks only one's own; the district office's deliveries; the webhook's
signature, backoff and outcomes (a mock transport: the real receiver is in tests/integration/test_audit_webhook.py);
the settings that keep the secret out of production defaults and out of errors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.audit.domain import delivery, findings, notifications, rectification, scheduled
from services.audit.domain.referrals import hand_over_serious_findings
from services.audit.models import Finding, Notification
from services.audit.rules import webhook
from services.audit.rules.notifications import NotificationKind, message
from services.audit.settings import AuditSettings
from shared.api.clock import request_time
from shared.contracts.households import ProblemCategory
from shared.db import create_engine, unit_of_work
from tests.support import assert_problem, auth, running_app
from tests.unit.test_audit_support import INSPECTOR, NOW, PHOTO, POLICY, TOWNSHIP_OFFICER, VILLAGE, facts, open_task

CADRE = "cadre-7"  # the responsible person's login
SECRET = "receiver-shared-secret-0123456789abcdef"
URL = "https://messaging.example.gov.cn/hooks/poverty"
SETTINGS = AuditSettings(
    database_url="unused", webhook_url=URL, webhook_secret=SECRET, webhook_max_attempts=3, webhook_backoff_s=30
)


@pytest.fixture
async def sessions(sqlite_url: Any) -> Any:
    engine = create_engine(await sqlite_url("audit"))
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def answerable(sessions: async_sessionmaker[AsyncSession], **problem: Any) -> tuple[Finding, Any]:
    """A finding with a task whose responsible person is CADRE."""
    finding, task = await open_task(sessions, facts(grade="C", **problem))
    async with unit_of_work(sessions) as s:
        await s.execute(update(Finding).where(col(Finding.id) == finding.id).values(responsible_person_id=CADRE))
    return finding, task


async def told(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, str, str]]:
    async with sessions() as s:
        rows = (await s.scalars(select(Notification).order_by(col(Notification.created_at)))).all()
    return [(n.person_id, n.kind, n.delivery_status) for n in rows]


def test_the_words_name_the_code_area_and_deadline_in_district_time_never_the_description() -> None:
    words = message(NotificationKind.OVERDUE, code="housing_unsafe", area_code=VILLAGE, deadline=NOW)
    assert "housing_unsafe" in words.title and "逾期" in words.title
    assert all(part in words.body for part in ("housing_unsafe.", f"{VILLAGE}.", "2020-05-11 10:00 (Asia/Shanghai)"))
    assert "deadline" not in message(NotificationKind.REFERRED, code="c", area_code=VILLAGE, deadline=None).body


def test_the_signature_is_hmac_sha256_of_time_dot_body() -> None:
    body = b'{"id":"1","title":"\xe6\x95\xb4\xe6\x94\xb9"}'
    expected = hmac.new(SECRET.encode(), b"1589162400." + body, hashlib.sha256).hexdigest()
    assert webhook.signature(SECRET.encode(), 1589162400, body) == f"t=1589162400,v1={expected}"


def test_retries_double_from_the_first_delay_up_to_an_hour() -> None:
    delays = [webhook.retry_delay(n, timedelta(seconds=30)).total_seconds() for n in range(1, 10)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert webhook.retry_delay(10_000, timedelta(seconds=30)) == timedelta(hours=1)
    with pytest.raises(ValueError):
        webhook.retry_delay(0, timedelta(seconds=30))


def test_only_a_2xx_is_delivered_and_a_refusal_quotes_200_characters() -> None:
    assert [webhook.is_delivered(c) for c in (200, 204, 299, 300, 404, 500)] == [True] * 3 + [False] * 3
    assert webhook.refusal(502, "x" * 500) == "HTTP 502: " + "x" * 200
    assert webhook.refusal(502, "a\x00b\nc") == "HTTP 502: a\ufffdb\ufffdc"  # PostgreSQL text holds no NUL


def test_production_refuses_a_webhook_without_a_secret_of_its_own_and_never_shows_one() -> None:
    contact_key = base64.b64encode(b"k" * 32).decode()  # production refuses the development keys of every kind
    prod: dict[str, Any] = {
        "database_url": "postgresql://db/audit",
        "environment": "prod",
        "jwt_secret": "j" * 40,
        "grievance_contact_keys": f"k1:{contact_key}",
        "grievance_contact_active_kid": "k1",
    }
    with pytest.raises(ValidationError) as default:
        AuditSettings(**prod, webhook_url=URL)
    with pytest.raises(ValidationError) as short:
        AuditSettings(**prod, webhook_url=URL, webhook_secret="short-secret-abc")
    assert "webhook_secret" in str(default.value) and "short-secret-abc" not in str(short.value)
    with pytest.raises(ValidationError, match="webhook_secret"):
        AuditSettings(database_url="unused", webhook_url=URL)  # outside production too: deliveries are signed
    fine = AuditSettings(**prod, webhook_url=URL, webhook_secret=SECRET)
    assert SECRET not in repr(fine) and SECRET not in str(fine.model_dump())
    assert AuditSettings(**prod).webhook_url is None  # no webhook: inbox only, no secret needed


async def test_each_reminder_overdue_mark_reopening_and_referral_tells_the_responsible_person(sessions: Any) -> None:
    _, task = await answerable(sessions)
    async with unit_of_work(sessions) as s:
        await scheduled.remind_due_soon(s, now=task.deadline - timedelta(days=1), lead=timedelta(days=2))
    async with unit_of_work(sessions) as s:
        await scheduled.mark_overdue(s, now=task.deadline + timedelta(seconds=1))
    assert await told(sessions) == [
        (CADRE, "due_soon", "not_sent"),
        (CADRE, "overdue", "not_sent"),
        (CADRE, "referred", "not_sent"),
    ]
    async with sessions() as s:
        overdue = (await s.scalars(select(Notification).where(col(Notification.kind) == "overdue"))).one()
    assert (overdue.task_id, overdue.read_at, overdue.attempts) == (task.id, None, 0)
    assert "housing_unsafe" in overdue.body and "housing_unsafe at h1" not in overdue.body  # the code, not the text


async def test_a_failed_follow_up_check_and_a_contradicting_repeat_reopen_and_tell(sessions: Any) -> None:
    _, task = await answerable(sessions)
    later = NOW + timedelta(days=1)
    for round_ in range(2):
        async with unit_of_work(sessions) as s:
            await rectification.start_task(s, task.id, actor=TOWNSHIP_OFFICER, now=later)
            await rectification.submit_task(
                s, task.id, summary="done", evidence=[PHOTO], actor=TOWNSHIP_OFFICER, now=later
            )
        if round_ == 0:
            async with unit_of_work(sessions) as s:
                await rectification.record_follow_up_check(
                    s,
                    task.id,
                    passed=False,
                    notes="wall not rebuilt",
                    campaign_id=None,
                    actor=INSPECTOR,
                    now=later,
                    policy=POLICY,
                )
    async with unit_of_work(sessions) as s:  # reported done, found again: the report is contradicted
        await findings.record_finding(s, facts(grade="C"), policy=POLICY, now=later)
    assert [kind for _, kind, _ in await told(sessions)] == ["reopened", "referred", "reopened"]


async def test_no_responsible_person_no_notification_and_a_handover_tells_too(sessions: Any) -> None:
    await open_task(sessions, facts(subject="h2", grade="C"))  # names no person
    await answerable(sessions, subject="h3", code="funds_misused", category=ProblemCategory.FUNDS)
    async with unit_of_work(sessions) as s:
        made = await hand_over_serious_findings(s, recorded_before=NOW + timedelta(days=7), now=NOW + timedelta(days=7))
    assert len(made) == 2  # both serious, one names a person
    assert await told(sessions) == [(CADRE, "referred", "not_sent")]


async def test_a_service_with_a_webhook_writes_pending_notifications_due_at_once(sessions: Any) -> None:
    notifications.deliver_by_webhook(sessions)
    _, task = await answerable(sessions)
    async with unit_of_work(sessions) as s:  # a finding opened and notified of in one transaction
        fresh = await findings.record_finding(s, facts(subject="h3", grade="C"), policy=POLICY, now=NOW)
        fresh.responsible_person_id = CADRE
        await notifications.notify_about(s, fresh, NotificationKind.ASSIGNED, now=NOW)
        await scheduled.mark_overdue(s, now=task.deadline + timedelta(seconds=1))
    async with sessions() as s:
        rows = (await s.scalars(select(Notification))).all()
    assert {(n.kind, n.delivery_status) for n in rows} == {
        ("assigned", "pending"),
        ("overdue", "pending"),
        ("referred", "pending"),
    }
    assert {n.next_attempt_at for n in rows if n.kind != "assigned"} == {task.deadline + timedelta(seconds=1)}


async def test_a_notification_is_written_as_its_transaction_commits_and_never_if_it_rolls_back(sessions: Any) -> None:
    finding, _ = await answerable(sessions)
    async with unit_of_work(sessions) as s:
        found = await s.get(Finding, finding.id)
        assert found is not None
        kept = await notifications.notify_about(s, found, NotificationKind.DUE_SOON, now=NOW)
        assert not s.new  # queued as a row, not an object for the unit of work to flush
        async with s.begin_nested() as savepoint:
            await notifications.notify_about(s, found, NotificationKind.OVERDUE, now=NOW)
            await savepoint.rollback()
    with pytest.raises(LookupError):
        async with unit_of_work(sessions) as s:
            found = await s.get(Finding, finding.id)
            assert found is not None
            await notifications.notify_about(s, found, NotificationKind.REOPENED, now=NOW)
            raise LookupError("the use case failed after notifying")
    async with sessions() as s:
        rows = (await s.scalars(select(Notification))).all()
    assert [(n.id, n.kind, n.person_id, n.delivery_status, n.attempts) for n in rows] == [
        (kept, "due_soon", CADRE, "not_sent", 0)
    ]


def transport(*answers: Any) -> tuple[httpx.AsyncClient, list[httpx.Request]]:
    """A client whose calls get `answers` in turn (a status and text, or an exception to raise)."""
    seen: list[httpx.Request] = []
    script = list(answers)

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        step = script.pop(0)
        if isinstance(step, Exception):
            raise step
        return httpx.Response(step[0], text=step[1])

    return httpx.AsyncClient(transport=httpx.MockTransport(answer)), seen


def deliveries_counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("poverty_notification_deliveries_total", {"outcome": outcome}) or 0.0


async def test_delivery_posts_a_signed_body_retries_with_backoff_then_dies(sessions: Any) -> None:
    notifications.deliver_by_webhook(sessions)
    _, task = await answerable(sessions)
    async with unit_of_work(sessions) as s:
        await scheduled.remind_due_soon(s, now=NOW, lead=timedelta(days=30))
    client, seen = transport((500, "down for maintenance"), httpx.ConnectError("refused"), (418, "teapot"))
    before = {o: deliveries_counted(o) for o in ("failed", "dead")}
    clock = [NOW]
    async with client:
        for expected_error in ("HTTP 500: down for maintenance", "ConnectError", "HTTP 418: teapot"):
            assert await delivery.deliver_due(sessions, SETTINGS, client, clock=lambda: clock[0]) == 1
            async with sessions() as s:
                row = (await s.scalars(select(Notification))).one()
            assert row.last_error == expected_error
            assert await delivery.deliver_due(sessions, SETTINGS, client, clock=lambda: clock[0]) == 0  # not yet due
            if row.delivery_status == "pending":
                assert row.next_attempt_at == clock[0] + timedelta(seconds=30 * 2 ** (row.attempts - 1))
                clock[0] = row.next_attempt_at
    assert (row.delivery_status, row.attempts, row.next_attempt_at) == ("dead", 3, None)
    assert {o: deliveries_counted(o) - before[o] for o in before} == {"failed": 2, "dead": 1}
    request = seen[0]
    body = json.loads(request.content)
    assert body == {
        "id": str(row.id),
        "person_id": CADRE,
        "kind": "due_soon",
        "finding_id": str(row.finding_id),
        "task_id": str(task.id),
        "title": row.title,
        "body": row.body,
        "created_at": row.created_at.isoformat(),
    }
    stamp, digest = (part.split("=", 1)[1] for part in request.headers["X-Poverty-Signature"].split(","))
    assert stamp == str(int(NOW.timestamp()))
    assert digest == hmac.new(SECRET.encode(), f"{stamp}.".encode() + request.content, hashlib.sha256).hexdigest()
    assert request.headers["X-Poverty-Delivery"] == str(row.id) and SECRET not in str(request.headers)


async def test_an_outcome_after_a_lost_lease_neither_undoes_a_delivery_nor_decides_for_a_newer_claim(
    sessions: Any,
) -> None:
    notifications.deliver_by_webhook(sessions)
    await answerable(sessions)
    async with unit_of_work(sessions) as s:
        await scheduled.remind_due_soon(s, now=NOW, lead=timedelta(days=30))
    lease = timedelta(minutes=5)
    async with unit_of_work(sessions) as s:
        first = await delivery.claim_due(s, now=NOW, lease_for=lease, limit=1)
    async with unit_of_work(sessions) as s:  # the first claimer went quiet; its lease ran out; claimed again
        second = await delivery.claim_due(s, now=NOW + timedelta(minutes=6), lease_for=lease, limit=1)
    assert [c.delivery.id for c in first] == [c.delivery.id for c in second] and (
        first[0].attempt,
        second[0].attempt,
    ) == (1, 2)
    record: dict[str, Any] = {"now": NOW + timedelta(minutes=7), "max_attempts": 3, "backoff": timedelta(seconds=30)}
    async with unit_of_work(sessions) as s:  # the first claimer's failure comes late: the newer claim decides
        await delivery.record_outcome(s, first[0], delivery.Outcome(False, "HTTP 500: x"), **record)
    async with unit_of_work(sessions) as s:
        await delivery.record_outcome(s, second[0], delivery.Outcome(True), **record)
    async with unit_of_work(sessions) as s:  # a late failure never undoes a delivery
        await delivery.record_outcome(s, first[0], delivery.Outcome(False, "HTTP 500: x"), **record)
    async with sessions() as s:
        row = await s.get(Notification, first[0].delivery.id)
    assert row is not None and (row.delivery_status, row.attempts, row.last_error) == ("delivered", 2, None)


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with running_app("audit", await sqlite_url("audit")) as (app, client):
        app.dependency_overrides[request_time] = lambda: NOW + timedelta(days=90)
        yield app, client


async def seed(app: Any, *people: str) -> None:
    """For each person, a finding of theirs gone overdue: an `overdue` and a `referred` notification each."""
    sessions = app.state.sessions
    for index, person in enumerate(people):
        finding, _ = await open_task(sessions, facts(subject=f"h{index}", grade="C"))
        async with unit_of_work(sessions) as s:
            await s.execute(update(Finding).where(col(Finding.id) == finding.id).values(responsible_person_id=person))
    async with unit_of_work(sessions) as s:
        await scheduled.mark_overdue(s, now=NOW + timedelta(days=60))


ME = auth("helper_cadre", area="371523101201", sub=CADRE)
OTHER = auth("village_cadre", area="371523101201", sub="cadre-8")
DISTRICT = auth("district_office", sub="district-officer-1")
COMMISSION = auth("discipline_commission", sub="commission-1")


async def test_the_inbox_lists_and_marks_only_ones_own(api: Any) -> None:
    app, client = api
    await seed(app, CADRE, "cadre-8")
    mine = (await client.get("/v1/notifications", headers=ME)).json()["items"]
    assert {(n["person_id"], n["kind"]) for n in mine} == {(CADRE, "overdue"), (CADRE, "referred")}
    theirs = (await client.get("/v1/notifications", headers=OTHER)).json()["items"]
    assert_problem(await client.post(f"/v1/notifications/{theirs[0]['id']}/read", headers=ME), 404)
    assert_problem(await client.get("/v1/notifications?person_id=cadre-8", headers=ME), 403)
    read = await client.post(f"/v1/notifications/{mine[0]['id']}/read", headers=ME)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    app.dependency_overrides[request_time] = lambda: NOW + timedelta(days=91)
    again = await client.post(f"/v1/notifications/{mine[0]['id']}/read", headers=ME)
    assert again.json()["read_at"] == read.json()["read_at"]  # read once: the first time is kept
    unread = (await client.get("/v1/notifications?unread=true", headers=ME)).json()["items"]
    assert [n["id"] for n in unread] == [mine[1]["id"]]
    kinds = (await client.get("/v1/notifications?kind=referred", headers=ME)).json()["items"]
    assert [n["kind"] for n in kinds] == ["referred"]
    assert (await client.post("/v1/notifications/read-all", headers=ME)).json()["marked"] == 1
    assert (await client.get("/v1/notifications?unread=true", headers=ME)).json()["items"] == []
    assert len((await client.get("/v1/notifications?unread=true", headers=OTHER)).json()["items"]) == 2  # untouched
    for supervisor in (DISTRICT, COMMISSION):
        seen = (await client.get("/v1/notifications?person_id=cadre-8", headers=supervisor)).json()["items"]
        assert {n["person_id"] for n in seen} == {"cadre-8"}


async def test_deliveries_are_the_district_offices_and_only_a_dead_one_is_delivered_again(sqlite_url: Any) -> None:
    # A webhook configured (nothing listens there; the worker's first round is an hour away): notifications pending.
    hook = "http://127.0.0.1:9/hook"
    async with running_app(
        "audit", await sqlite_url("audit"), webhook_url=hook, webhook_secret=SECRET, webhook_interval_s=3600
    ) as (
        app,
        client,
    ):
        app.dependency_overrides[request_time] = lambda: NOW + timedelta(days=90)
        await seed(app, CADRE)
        async with unit_of_work(app.state.sessions) as s:
            await s.execute(
                update(Notification)
                .where(col(Notification.kind) == "overdue")
                .values(delivery_status="dead", attempts=8, next_attempt_at=None, last_error="HTTP 500: down")
            )
        assert_problem(await client.get("/v1/notification-deliveries", headers=ME), 403)
        dead = (await client.get("/v1/notification-deliveries?status=dead", headers=DISTRICT)).json()["items"]
        assert [(n["kind"], n["attempts"], n["last_error"]) for n in dead] == [("overdue", 8, "HTTP 500: down")]
        pending = (await client.get("/v1/notification-deliveries?status=pending", headers=DISTRICT)).json()["items"]
        assert [n["kind"] for n in pending] == ["referred"]
        assert_problem(await client.post(f"/v1/notifications/{dead[0]['id']}/redeliver", headers=ME), 403)
        body = assert_problem(
            await client.post(f"/v1/notifications/{pending[0]['id']}/redeliver", headers=DISTRICT), 409
        )
        assert body["code"] == "not_dead"
        again = await client.post(f"/v1/notifications/{dead[0]['id']}/redeliver", headers=DISTRICT)
        assert (again.json()["delivery_status"], again.json()["attempts"]) == ("pending", 0)
        assert again.json()["next_attempt_at"] is not None
        missing = "00000000-0000-4000-8000-000000000000"
        assert_problem(await client.post(f"/v1/notifications/{missing}/redeliver", headers=DISTRICT), 404)


async def test_without_a_webhook_nothing_is_delivered_again(api: Any) -> None:
    app, client = api
    await seed(app, CADRE)
    listed = (await client.get("/v1/notifications", headers=ME)).json()["items"]
    assert {n["delivery_status"] for n in listed} == {"not_sent"}
    body = assert_problem(await client.post(f"/v1/notifications/{listed[0]['id']}/redeliver", headers=DISTRICT), 409)
    assert body["code"] == "webhook_not_configured"

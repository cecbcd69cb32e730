"""Audit on real PostgreSQL (and Kafka): the log's advisory lock and refusing triggers, tampering caught,
overdue tasks claimed with FOR UPDATE SKIP LOCKED by several replicas, every consumed event logged."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key
from sqlmodel import col

from services.audit.domain import findings, ledger, rectification, scheduled
from services.audit.handlers import build_handlers
from services.audit.models import DisciplineReferral, Finding, LedgerEntry, RectificationTask
from services.audit.rules.findings import DeadlinePolicy, EvidenceRef, ProblemFacts
from services.audit.rules.ledger import Verification, sha256_hex
from services.audit.settings import AuditSettings
from shared.api.clock import request_time
from shared.auth import Principal, Role
from shared.contracts import ALL_TOPICS, HOUSEHOLDS_TOPIC
from shared.contracts.audit import SubjectKind
from shared.contracts.households import HouseholdProblemFound, ProblemCategory
from shared.db import create_engine, unit_of_work
from shared.messaging.cloudevents import Envelope
from shared.messaging.consumer import ConsumerRunner
from shared.messaging.kafka import ensure_topics, make_consumer, make_producer
from tests.kafka_support import eventually
from tests.support import in_background, running_app
from tests.unit.test_audit_api import DISTRICT, INSPECTOR, LONGEST_UNIT, MANUAL
from tests.unit.test_audit_api import TOWNSHIP_OFFICER as TOWNSHIP_TOKEN
from tests.unit.test_audit_api_pages import COMMISSION, assert_pages

pytestmark = pytest.mark.integration

NOW = datetime(2020, 5, 11, 2, tzinfo=UTC)
POLICY = DeadlinePolicy()
BLOCKED_S = 0.5  # long enough to see a writer wait; the lock holder commits right after


@pytest.fixture
async def sessions(pg_database: Any) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(await pg_database("audit"))
    try:
        yield async_sessionmaker(engine, expire_on_commit=False)
    finally:
        await engine.dispose()


def problem(subject: str, grade: str = "C") -> ProblemFacts:
    return ProblemFacts(
        subject_kind=SubjectKind.HOUSEHOLD,
        subject_id=subject,
        area_code="371523101201",
        category=ProblemCategory.HOUSING,
        code="housing_unsafe",
        description="unsafe house",
        source_ref="p",
        housing_grade=grade,
    )


def append(session: AsyncSession, n: int = 1) -> None:
    for i in range(n):
        ledger.append(session, source=f"t/{i}", event_type="t.v1", payload=b"{}")


def write_pending(session: Session) -> list[dict[str, Any]]:
    return ledger.write_pending(session, now=NOW)


async def verify(sessions: async_sessionmaker[AsyncSession]) -> Verification:
    async with sessions() as s:
        return await ledger.verify(s)


async def test_a_second_writer_waits_for_the_first_to_commit(sessions: Any) -> None:
    async def second_writer() -> list[dict[str, Any]]:
        async with sessions() as other, other.begin():
            append(other)
            return await other.run_sync(write_pending)

    async with unit_of_work(sessions) as s:
        append(s)
        first = await s.run_sync(write_pending)  # holds the log's lock until this transaction ends
        second = asyncio.create_task(second_writer())
        done, _ = await asyncio.wait([second], timeout=BLOCKED_S)
        assert not done, "the second writer read the head while the first still held the lock"
    after = await second
    assert (after[0]["seq"], after[0]["prev_hash"]) == (first[0]["seq"] + 1, first[0]["entry_hash"])
    assert (await verify(sessions)).ok


async def test_many_concurrent_writers_keep_one_chain(sessions: Any) -> None:
    async def writer() -> None:
        async with unit_of_work(sessions) as s:
            append(s, 3)

    await asyncio.gather(*(writer() for _ in range(15)))
    result = await verify(sessions)
    assert (result.ok, result.entries_checked) == (True, 45)


async def test_concurrent_recordings_of_one_problem_make_one_finding_with_every_occurrence(sessions: Any) -> None:
    subject = str(uuid.uuid4())

    async def record(n: int) -> Finding:
        facts = replace(problem(subject), evidence=(EvidenceRef("photo", f"archive://{n}.jpg"),))
        async with unit_of_work(sessions) as s:
            return await findings.record_manual_finding(s, facts, policy=POLICY, now=NOW)

    recorded = await asyncio.gather(*(record(n) for n in range(6)))  # none existed: all six race to open it
    assert len({f.id for f in recorded}) == 1
    async with sessions() as s:
        finding = (await s.scalars(select(Finding))).one()
        tasks = await s.scalar(select(func.count()).select_from(RectificationTask))
    assert (finding.occurrences, len(finding.evidence), tasks) == (6, 6, 1)


async def test_looking_up_another_problem_of_a_subject_keeps_what_the_transaction_changed(sessions: Any) -> None:
    subject = str(uuid.uuid4())
    housing, water = problem(subject), replace(problem(subject), category=ProblemCategory.WATER, code="water_unsafe")
    async with unit_of_work(sessions) as s:
        await findings.record_manual_finding(s, housing, policy=POLICY, now=NOW)
    async with unit_of_work(sessions) as s:
        again = await findings.record_manual_finding(s, housing, policy=POLICY, now=NOW)  # not yet written
        await findings.record_manual_finding(s, water, policy=POLICY, now=NOW)  # the same subject's other problem
        assert again.occurrences == 2
    async with sessions() as s:
        kept = (await s.scalars(select(Finding).where(col(Finding.code) == "housing_unsafe"))).one()
    assert kept.occurrences == 2


async def test_an_inspector_recording_what_the_consumer_is_opening_waits_and_adds_an_occurrence(
    sessions: Any,
) -> None:
    subject = str(uuid.uuid4())

    async def inspector() -> Finding:
        async with unit_of_work(sessions) as s:
            return await findings.record_manual_finding(s, problem(subject), policy=POLICY, now=NOW)

    async with unit_of_work(sessions) as consumer:
        opened = await findings.record_finding(consumer, problem(subject), policy=POLICY, now=NOW)
        await consumer.flush()  # written, not committed: invisible to the inspector's transaction
        recording = asyncio.create_task(inspector())
        await until_a_lock_is_awaited(sessions)
    recorded = await recording
    async with sessions() as s:
        finding = (await s.scalars(select(Finding))).one()
    assert (recorded.id, finding.id, finding.occurrences) == (opened.id, opened.id, 2)


OTHER_OPEN_FINDINGS = text(
    "INSERT INTO finding (id, subject_kind, subject_id, area_code, category, code, severity, description, status, "
    "occurrences, source_ref, opened_at, last_seen_at) "
    "SELECT gen_random_uuid(), 'household', gen_random_uuid()::text, '371523101201', 'housing', 'housing_unsafe', "
    "'C', 'unsafe house', 'open', 1, 'p', now(), now() FROM generate_series(1, :count)"
)
ROWS_READ = text(
    "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) FROM pg_stat_xact_user_tables "
    "WHERE relname = 'finding'"
)


def housing_problems(*subjects: str) -> list[findings.OpenFindingKey]:
    return [("household", subject, "housing_unsafe") for subject in subjects]


async def rows_read_looking_up(sessions: Any, wanted: list[findings.OpenFindingKey]) -> int:
    """Rows of `finding` that the look-up of `wanted` read, from its transaction's counters (read before and after:
    PostgreSQL 15 adds a connection's earlier transactions to them until it reports them)."""
    async with unit_of_work(sessions) as s:
        before = await s.scalar(ROWS_READ)
        await findings.load_open_findings(s, wanted)
        return int(await s.scalar(ROWS_READ) - before)


async def test_a_problem_s_look_up_reads_its_own_open_finding_whatever_the_table_s_statistics(sessions: Any) -> None:
    # A new district's database: many open findings, never analyzed (autovacuum kept off for the test's length).
    async with unit_of_work(sessions) as s:
        await s.execute(text("ALTER TABLE finding SET (autovacuum_enabled = false)"))
        await findings.record_finding(s, problem(subject := str(uuid.uuid4())), policy=POLICY, now=NOW)
        await s.execute(OTHER_OPEN_FINDINGS, {"count": 2000})
    async with sessions() as s:
        assert await s.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'finding'")) < 0  # not analyzed
    wanted = housing_problems(subject, str(uuid.uuid4()))
    assert await rows_read_looking_up(sessions, wanted) <= len(wanted)  # not every household's open finding


async def test_a_problem_s_look_up_reads_its_own_open_finding_after_the_table_grew_under_a_cached_plan(
    pg_database: Any,
) -> None:
    engine = create_engine(await pg_database("audit"), pool_size=1, max_overflow=0)  # one connection, one cached plan
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    try:
        async with engine.connect() as conn:  # a few dozen findings, analyzed, as autovacuum first sees a new table
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("ALTER TABLE finding SET (autovacuum_enabled = false)"))
            await conn.execute(OTHER_OPEN_FINDINGS, {"count": 60})
            await conn.execute(text("VACUUM ANALYZE finding"))
        for _ in range(10):  # a batch's look-ups: PL/pgSQL keeps a generic plan after five
            await rows_read_looking_up(sessions, housing_problems(*(str(uuid.uuid4()) for _ in range(20))))
        async with unit_of_work(sessions) as s:
            await s.execute(OTHER_OPEN_FINDINGS, {"count": 2000})
        wanted = housing_problems(*(str(uuid.uuid4()) for _ in range(20)))
        assert await rows_read_looking_up(sessions, wanted) <= len(wanted)  # 41,200 with a scan a problem
    finally:
        await engine.dispose()


async def test_a_finding_looked_up_with_its_lock_has_every_field_it_was_stored_with(sessions: Any) -> None:
    # The function's row type has its columns in the order migrations added them, not the model's.
    facts = replace(problem(str(uuid.uuid4()), grade="D"), evidence=(EvidenceRef("photo", "archive://1.jpg"),))
    async with unit_of_work(sessions) as s:
        await findings.record_manual_finding(s, facts, policy=POLICY, now=NOW)
    async with sessions() as s:
        stored = (await s.scalars(select(Finding))).one().model_dump()
    async with unit_of_work(sessions) as s:
        await findings.load_open_findings(s, [("household", facts.subject_id, facts.code)])
        held = s.identity_map.get(identity_key(Finding, stored["id"]))  # as the look-up loaded it
    assert held is not None and held.model_dump() == stored


TOWNSHIP_OFFICER = Principal("township-1", frozenset({Role.TOWNSHIP_OFFICE}), "371523101")
CHECKER = Principal("inspector-2", frozenset({Role.INSPECTOR}), None)


async def close_it(s: AsyncSession, task_id: uuid.UUID) -> None:
    await rectification.close_task(s, task_id, actor=CHECKER, now=NOW)


async def fail_its_check(s: AsyncSession, task_id: uuid.UUID) -> None:
    await rectification.record_follow_up_check(
        s, task_id, passed=False, notes="墙体仍有裂缝", campaign_id=None, actor=CHECKER, now=NOW, policy=POLICY
    )


async def mark_it_overdue(s: AsyncSession, task_id: uuid.UUID) -> None:
    assert [t.id for t in await scheduled.mark_overdue(s, now=NOW + timedelta(days=40))] == [task_id]


@pytest.mark.parametrize(
    ("action", "checks_before"),
    [(close_it, [True]), (fail_its_check, []), (mark_it_overdue, None)],
    ids=["close", "failed check", "overdue check"],
)
async def test_a_task_action_and_a_repeat_of_its_problem_wait_for_each_other_instead_of_deadlocking(
    sessions: Any, action: Any, checks_before: list[bool] | None
) -> None:
    subject = str(uuid.uuid4())
    async with unit_of_work(sessions) as s:
        finding = await findings.record_finding(s, problem(subject), policy=POLICY, now=NOW)
        task_id = (
            await s.scalars(select(RectificationTask.id).where(RectificationTask.finding_id == finding.id))
        ).one()
    if checks_before is not None:
        async with unit_of_work(sessions) as s:
            await rectification.start_task(s, task_id, actor=TOWNSHIP_OFFICER, now=NOW)
            evidence = [EvidenceRef("photo", "archive://after.jpg")]
            await rectification.submit_task(
                s, task_id, summary="加固", evidence=evidence, actor=TOWNSHIP_OFFICER, now=NOW
            )
        for passed in checks_before:
            async with unit_of_work(sessions) as s:
                await rectification.record_follow_up_check(
                    s, task_id, passed=passed, notes="ok", campaign_id=None, actor=CHECKER, now=NOW, policy=POLICY
                )

    async def repeat() -> None:
        async with unit_of_work(sessions) as s:
            await findings.record_manual_finding(s, problem(subject), policy=POLICY, now=NOW + timedelta(days=1))

    async with unit_of_work(sessions) as acting:
        await action(acting, task_id)  # the task and its finding are now held by this transaction
        repeating = asyncio.create_task(repeat())
        await until_a_lock_is_awaited(sessions, kinds=("transactionid", "tuple"))
    await repeating  # a deadlock would have failed one of the two with 40P01
    assert (await verify(sessions)).ok


async def until_a_lock_is_awaited(
    sessions: Any, timeout_s: float = 10.0, kinds: tuple[str, ...] = ("advisory",)
) -> None:
    waiting = text("SELECT count(*) FROM pg_locks WHERE locktype = ANY(:kinds) AND NOT granted").bindparams(
        kinds=list(kinds)
    )
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        async with sessions() as s:
            if await s.scalar(waiting):
                return
        await asyncio.sleep(0.02)
    raise AssertionError(f"no transaction waited for a lock ({', '.join(kinds)})")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entry SET source = 'x' WHERE seq = 1",
        "DELETE FROM ledger_entry WHERE seq = 1",
        "TRUNCATE ledger_entry",
    ],
)
async def test_the_table_refuses_changes(sessions: Any, statement: str) -> None:
    async with unit_of_work(sessions) as s:
        append(s, 2)
    with pytest.raises(DBAPIError, match="append-only"):
        async with unit_of_work(sessions) as s:
            await s.execute(text(statement))
    assert (await verify(sessions)).entries_checked == 2


async def tamper(sessions: async_sessionmaker[AsyncSession], *statements: str) -> None:
    """An owner of the table can switch the triggers off: the chain must still tell."""
    async with unit_of_work(sessions) as s:
        await s.execute(text("ALTER TABLE ledger_entry DISABLE TRIGGER ledger_entry_append_only"))
        for statement in statements:
            await s.execute(text(statement))
        await s.execute(text("ALTER TABLE ledger_entry ENABLE TRIGGER ledger_entry_append_only"))


@pytest.mark.parametrize(
    ("statements", "seq", "kind"),
    [
        (["UPDATE ledger_entry SET payload_hash = repeat('0', 64) WHERE seq = 4"], 4, "altered"),
        (["UPDATE ledger_entry SET recorded_at = recorded_at + interval '1 second' WHERE seq = 2"], 2, "altered"),
        (["DELETE FROM ledger_entry WHERE seq = 3"], 3, "missing_entries"),
        (
            [
                "UPDATE ledger_entry SET seq = -1 WHERE seq = 2",
                "UPDATE ledger_entry SET seq = 2 WHERE seq = 3",
                "UPDATE ledger_entry SET seq = 3 WHERE seq = -1",
            ],
            2,
            "reordered",
        ),
    ],
)
async def test_tampering_past_the_disabled_trigger_is_caught(
    sessions: Any, statements: list[str], seq: int, kind: str
) -> None:
    async with unit_of_work(sessions) as s:
        append(s, 6)
    await tamper(sessions, *statements)
    result = await verify(sessions)
    assert not result.ok and result.first_break is not None
    assert (result.first_break.seq, result.first_break.kind) == (seq, kind)


async def test_two_replicas_mark_each_overdue_task_once(sessions: Any) -> None:
    for n in range(6):
        async with unit_of_work(sessions) as s:
            await findings.record_finding(s, problem(f"h{n}"), policy=POLICY, now=NOW)
    later = NOW + timedelta(days=30)

    async def replica_b() -> list[RectificationTask]:
        async with unit_of_work(sessions) as b:
            return await scheduled.mark_overdue(b, now=later)

    async with sessions() as a, a.begin():
        claimed_by_a = await scheduled.mark_overdue(a, now=later, limit=4)
        claimed_by_b = await replica_b()  # while A holds its rows: B skips them, takes the rest, commits
    async with unit_of_work(sessions) as c:
        claimed_after = await scheduled.mark_overdue(c, now=later)
    assert (len(claimed_by_a), len(claimed_by_b), claimed_after) == (4, 2, [])
    assert not {t.id for t in claimed_by_a} & {t.id for t in claimed_by_b}
    async with sessions() as s:
        reasons = (await s.scalars(select(col(DisciplineReferral.reason)))).all()
        marked = await s.scalar(select(func.count()).where(col(RectificationTask.overdue_at).is_not(None)))
    assert (sorted(reasons), marked) == (["overdue_task"] * 6, 6)


async def test_concurrent_scheduled_runs_refer_each_task_once(sessions: Any) -> None:
    for n in range(12):
        async with unit_of_work(sessions) as s:
            await findings.record_finding(s, problem(f"h{n}"), policy=POLICY, now=NOW)
    settings = AuditSettings(database_url="unused", scan_batch_size=3)
    later = NOW + timedelta(days=30)
    runs = await asyncio.gather(*(scheduled.run_checks(sessions, settings, now=later) for _ in range(3)))
    assert sum(r.overdue for r in runs) == 12
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(DisciplineReferral)) == 12
    assert (await verify(sessions)).ok


def household_problem(household: uuid.UUID) -> HouseholdProblemFound:
    return HouseholdProblemFound(
        household_id=household,
        problem_id=uuid.uuid4(),
        visit_id=uuid.uuid4(),
        area_code="371523101201",
        category=ProblemCategory.HOUSING,
        code="housing_unsafe",
        description="D-grade house",
        housing_grade="D",
        found_on=date(2020, 5, 11),
        found_by="cadre-7",
    )


@contextlib.asynccontextmanager
async def consuming(kafka: str, sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[None]:
    handlers = build_handlers(AuditSettings(database_url="unused"))
    group = f"test-audit-ledger-{uuid.uuid4().hex[:8]}"
    consumer = make_consumer(kafka, group_id=group, topics=handlers.topics)
    producer = make_producer(kafka, client_id=group)
    await consumer.start()
    await producer.start()
    runner = ConsumerRunner(name=group, handlers=handlers, sessions=sessions, consumer=consumer, dlq_producer=producer)
    try:
        async with in_background(runner.run()):
            yield
    finally:
        await consumer.stop()
        await producer.stop()


async def test_a_consumed_event_is_logged_before_the_changes_it_caused(kafka: str, sessions: Any) -> None:
    await ensure_topics(kafka, ALL_TOPICS)
    event = household_problem(uuid.uuid4())
    env = Envelope(
        id=str(uuid.uuid4()),
        type=event.event_type,
        source="/tests",
        subject=event.aggregate_id(),
        time=datetime.now(UTC),
        data=event.model_dump_json().encode(),
    )
    producer = make_producer(kafka, client_id="test-ledger-producer")
    await producer.start()
    try:
        for _ in range(2):  # a redelivery: logged once, like its effect
            await producer.send_and_wait(HOUSEHOLDS_TOPIC, env.data, key=env.subject.encode(), headers=env.to_headers())
    finally:
        await producer.stop()

    async def mine() -> list[LedgerEntry]:
        """The event's entry and the three after it (the broker may hold other tests' events too)."""
        async with sessions() as s:
            found = await s.scalar(select(func.count()).where(col(Finding.subject_id) == str(event.household_id)))
            rows = (await s.scalars(select(LedgerEntry).order_by(col(LedgerEntry.seq)))).all()
        first = next((n for n, r in enumerate(rows) if r.source.endswith(env.id)), None)
        return list(rows[first : first + 4]) if found and first is not None else []

    async with consuming(kafka, sessions):
        await eventually(mine, timeout=30)
        await asyncio.sleep(1)  # the redelivered copy, if it were applied, lands now
        entries = await mine()
        async with sessions() as s:
            logged = (await s.scalars(select(col(LedgerEntry.source)))).all()
    assert sum(source.endswith(env.id) for source in logged) == 1
    assert [e.source.split("/")[0] for e in entries] == [
        HOUSEHOLDS_TOPIC,
        "audit:finding_recorded",
        "audit:rectification_opened",
        "audit:discipline_referral_made",
    ]
    assert entries[0].payload_hash == sha256_hex(env.data)
    assert (await verify(sessions)).ok


async def test_pages_hold_every_row_once_on_postgres(pg_database: Any) -> None:
    """Keyset pages over native uuid and timestamptz columns: rows tied on time are split by id, in the same order
    the database sorts them."""
    async with running_app("audit", await pg_database("audit")) as (app, client):
        app.dependency_overrides[request_time] = lambda: NOW + timedelta(days=60)  # every deadline passed
        for n in range(7):
            async with unit_of_work(app.state.sessions) as s:  # five at one moment, two an hour later
                await findings.record_finding(
                    s, problem(f"h{n}", "D"), policy=POLICY, now=NOW + timedelta(hours=n // 5)
                )
        for url in ("/v1/findings", "/v1/rectification-tasks", "/v1/views/overdue-tasks"):
            assert len(await assert_pages(client, url, limit=2)) == 7
        assert len(await assert_pages(client, "/v1/referrals", limit=2, headers=COMMISSION)) == 7
        package = "/v1/handover-packages/2020-W20/referrals"
        referrals = await assert_pages(client, package, limit=2, headers=COMMISSION)
        assert [r["referred_at"] for r in referrals] == sorted(r["referred_at"] for r in referrals)  # as made


async def test_campaigns_a_units_history_and_the_handover_counts_on_postgres(pg_database: Any) -> None:
    """The SQL of a campaign's reach (prefixes, a project's findings), a unit's longest name in a varchar path key,
    and the handover's counts (by township, in SQL) agreeing with the package's document."""
    async with running_app("audit", await pg_database("audit")) as (app, client):
        app.dependency_overrides[request_time] = lambda: NOW + timedelta(days=1)
        project_here, project_elsewhere = str(uuid.uuid4()), str(uuid.uuid4())
        for subject, area in [(project_here, "371523101201"), (project_elsewhere, "371523105201")]:
            async with unit_of_work(app.state.sessions) as s:
                on_project = replace(problem(subject), subject_kind=SubjectKind.PROJECT, area_code=area)
                await findings.record_finding(s, on_project, policy=POLICY, now=NOW)
        scopes = [
            ("district", "371523"),
            ("township", "371523101"),
            ("village", "371523101201"),
            ("township", "371523105"),
            ("project", project_here),
            ("project", project_elsewhere),
        ]
        for n, (level, code) in enumerate(scopes):
            plan = {"name": f"c{n}", "kind": "self_assessment", "scope_level": level, "scope_code": code, "round": 1}
            dates = {"starts_on": "2020-05-01", "ends_on": "2020-05-31"}
            assert (await client.post("/v1/campaigns", json={**plan, **dates}, headers=DISTRICT)).status_code == 201
        listed = (await client.get("/v1/campaigns", headers=TOWNSHIP_TOKEN)).json()["items"]
        assert sorted(c["name"] for c in listed) == ["c0", "c1", "c2", "c4"]

        body = {**MANUAL, "subject_kind": "unit", "subject_id": LONGEST_UNIT, "responsible_unit": LONGEST_UNIT}
        created = await client.post("/v1/findings", json={**body, "severity": "serious"}, headers=INSPECTOR)
        assert created.status_code == 201, created.text
        history = await client.get(f"/v1/subjects/unit/{quote(LONGEST_UNIT, safe='')}/history", headers=DISTRICT)
        assert [h["finding"]["id"] for h in history.json()["items"]] == [created.json()["id"]]

        app.dependency_overrides[request_time] = lambda: NOW + timedelta(days=1, hours=1)  # after the unit's finding
        handed = (await client.post("/v1/referrals/weekly-handover", headers=DISTRICT)).json()
        assert (handed["week"], handed["referred"]) == ("2020-W20", 3)  # both projects' and the unit's
        document = (await client.get("/v1/handover-packages/2020-W20", headers=COMMISSION)).json()
        assert handed["package"] == {k: document[k] for k in ("total", "by_reason", "by_severity", "by_township")}
        assert handed["package"]["by_township"] == {"371523101": 2, "371523105": 1}

"""The log as evidence on SQLite: the state checked against the log, the heads anchored outside the database, and each
tampering of the issue caught — a deleted referral, a lowered severity, a cut tail and a rewrite from the middle with
every hash recomputed."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.audit.domain import findings, handover, ledger, ledger_anchors, ledger_state, rectification
from services.audit.models import DisciplineReferral, Finding, LedgerAnchor, LedgerEntry, RectificationTask
from services.audit.rules.findings import DeadlinePolicy, EvidenceRef, ProblemFacts
from services.audit.rules.handover import to_json
from services.audit.rules.ledger import GENESIS_HASH, anchor_due, anchors_in, entry_hash, recompute
from services.audit.rules.ledger_state import INVENTORY, Difference
from services.audit.rules.periods import IsoWeek
from services.audit.settings import AuditSettings
from shared.auth import Principal, Role
from shared.cli import USAGE_ERROR, main
from shared.contracts.audit import LedgerHeadAnchored, SubjectKind
from shared.contracts.households import ProblemCategory
from shared.db import create_engine, unit_of_work
from shared.messaging.outbox import OutboxMessage
from tests.support import assert_problem, auth, migrate_to, running_app

# Now, not a date of the report: what the state check deems made before the log kept facts is judged by the time
# the log recorded its first facts, which is the wall clock's.
NOW = datetime.now(UTC)
HOUR = timedelta(hours=1)
POLICY = DeadlinePolicy()
TOWNSHIP = Principal("township-1", frozenset({Role.TOWNSHIP_OFFICE}), "371523101")
DISTRICT = Principal("district-1", frozenset({Role.DISTRICT_OFFICE}), None)
# What someone with raw access to the database does first: the refusing triggers go.
DROP_TRIGGERS = (
    "DROP TRIGGER ledger_entry_no_update",
    "DROP TRIGGER ledger_entry_no_delete",
    "DROP TRIGGER ledger_anchor_no_update",
    "DROP TRIGGER ledger_anchor_no_delete",
)


def problem(household: str, grade: str) -> ProblemFacts:
    return ProblemFacts(
        subject_kind=SubjectKind.HOUSEHOLD,
        subject_id=household,
        area_code="371523101201",
        category=ProblemCategory.HOUSING,
        code="housing_unsafe",
        description="unsafe house",
        source_ref="p",
        housing_grade=grade,
    )


@pytest.fixture
async def database(sqlite_url: Any) -> Any:
    url = await sqlite_url("audit")
    engine = create_engine(url)
    yield url, async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


@pytest.fixture
def sessions(database: Any) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = database[1]
    return sessions


async def a_month_of_work(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    """A severe finding (task, referral), a serious one whose task is started, moved and found worse, and a
    general one; an anchor between the first and the rest."""
    async with unit_of_work(sessions) as s:
        severe = await findings.record_finding(s, problem("h-severe", "D"), policy=POLICY, now=NOW)
    async with unit_of_work(sessions) as s:
        await ledger_anchors.anchor_head(s, now=NOW, every=HOUR, entries=1000)
    async with unit_of_work(sessions) as s:
        serious = await findings.record_finding(s, problem("h-serious", "C"), policy=POLICY, now=NOW)
    async with sessions() as s:
        task = (await s.scalars(select(RectificationTask).where(col(RectificationTask.finding_id) == serious.id))).one()
    async with unit_of_work(sessions) as s:
        await rectification.start_task(s, task.id, actor=TOWNSHIP, now=NOW + HOUR)
    async with unit_of_work(sessions) as s:
        await rectification.reschedule_task(
            s, task.id, deadline=task.deadline + timedelta(days=3), reason="rain", actor=DISTRICT, now=NOW + HOUR
        )
    async with unit_of_work(sessions) as s:
        await findings.record_finding(s, problem("h-serious", "D"), policy=POLICY, now=NOW + 2 * HOUR)
    async with unit_of_work(sessions) as s:
        await findings.record_finding(s, problem("h-general", "B"), policy=POLICY, now=NOW + 2 * HOUR)
    return {"severe": severe, "serious": serious, "task": task}


async def state(sessions: async_sessionmaker[AsyncSession]) -> ledger_state.StateCheck:
    async with sessions() as s:
        return await ledger_state.check_state(s)


async def verify(sessions: async_sessionmaker[AsyncSession], **kw: Any) -> Any:
    async with sessions() as s:
        return await ledger.verify(s, **kw)


async def tamper(sessions: async_sessionmaker[AsyncSession], *statements: str) -> None:
    async with unit_of_work(sessions) as s:
        for statement in statements:
            await s.execute(text(statement))


async def rechain_from(sessions: async_sessionmaker[AsyncSession], seq: int) -> None:
    """Recompute every hash from `seq` on, as a careful forger does after a change: the chain verifies again."""
    async with unit_of_work(sessions) as s:
        entries = list((await s.scalars(select(LedgerEntry).order_by(col(LedgerEntry.seq)))).all())
        previous = next((e.entry_hash for e in entries if e.seq == seq - 1), GENESIS_HASH)
        for entry in (e for e in entries if e.seq >= seq):
            entry.prev_hash = previous
            entry.entry_hash = previous = recompute(entry)


# ---- state against the log -----------------------------------------------------------------------------------


async def test_an_untampered_database_has_no_difference(sessions: Any) -> None:
    await a_month_of_work(sessions)
    result = await state(sessions)
    assert result.ok and result.differences == []
    assert result.entities_checked == 8  # 3 findings, 3 tasks, 2 referrals (the severe one, the one found worse)
    assert result.entries_replayed > 8
    assert (await verify(sessions)).ok


async def test_every_step_of_a_task_leaves_the_state_the_log_replays(sessions: Any) -> None:
    """Open, start, submit, fail its check (reopened, referred), start, submit, pass, close: after each step the
    tables say what the log says."""
    inspector = Principal("inspector-1", frozenset({Role.INSPECTOR}), None)
    evidence = [EvidenceRef(kind="photo", reference="archive://1.jpg")]
    async with unit_of_work(sessions) as s:
        finding = await findings.record_finding(s, problem("h1", "C"), policy=POLICY, now=NOW)
    async with sessions() as s:
        task = (await s.scalars(select(RectificationTask))).one()
    steps: list[Callable[[AsyncSession], Awaitable[object]]] = [
        lambda s: rectification.start_task(s, task.id, actor=TOWNSHIP, now=NOW),
        lambda s: rectification.submit_task(s, task.id, summary="done", evidence=evidence, actor=TOWNSHIP, now=NOW),
        lambda s: rectification.record_follow_up_check(
            s, task.id, passed=False, notes="no", campaign_id=None, actor=inspector, now=NOW, policy=POLICY
        ),
        lambda s: rectification.start_task(s, task.id, actor=TOWNSHIP, now=NOW),
        lambda s: rectification.submit_task(s, task.id, summary="done", evidence=evidence, actor=TOWNSHIP, now=NOW),
        lambda s: rectification.record_follow_up_check(
            s, task.id, passed=True, notes="ok", campaign_id=None, actor=inspector, now=NOW, policy=POLICY
        ),
        lambda s: rectification.close_task(s, task.id, actor=DISTRICT, now=NOW),
    ]
    for step in steps:
        async with unit_of_work(sessions) as s:
            await step(s)
        result = await state(sessions)
        assert result.ok, result.differences
    async with sessions() as s:
        closed = await s.get(Finding, finding.id)
    assert closed is not None and closed.status == "closed" and result.entities_checked == 3  # + the referral
    await tamper(sessions, f"UPDATE rectificationtask SET status = 'verified' WHERE id = '{task.id.hex}'")
    assert [(d.field, d.log, d.table) for d in (await state(sessions)).differences] == [
        ("status", "closed", "verified")
    ]


async def test_a_deleted_referral_is_a_difference(sessions: Any) -> None:
    work = await a_month_of_work(sessions)
    async with sessions() as s:
        referral = (
            await s.scalars(select(DisciplineReferral).where(col(DisciplineReferral.finding_id) == work["severe"].id))
        ).one()
    await tamper(sessions, f"DELETE FROM disciplinereferral WHERE id = '{referral.id.hex}'")
    result = await state(sessions)
    assert result.differences == [Difference("referral", str(referral.id), "exists", "yes", "no")]
    assert (await verify(sessions)).ok  # the chain alone cannot tell


async def test_a_downgraded_severity_is_a_difference(sessions: Any) -> None:
    work = await a_month_of_work(sessions)
    await tamper(sessions, f"UPDATE finding SET severity = 'general' WHERE id = '{work['severe'].id.hex}'")
    assert (await state(sessions)).differences == [
        Difference("finding", str(work["severe"].id), "severity", "severe", "general")
    ]


async def test_a_finding_raised_by_a_repeat_is_expected_raised(sessions: Any) -> None:
    work = await a_month_of_work(sessions)
    # Found worse (D after C): the log says severe, and so does its second referral.
    await tamper(sessions, f"UPDATE finding SET severity = 'serious' WHERE id = '{work['serious'].id.hex}'")
    assert (await state(sessions)).differences == [
        Difference("finding", str(work["serious"].id), "severity", "severe", "serious")
    ]


async def test_every_field_the_log_knows_is_compared(sessions: Any) -> None:
    work = await a_month_of_work(sessions)
    task = work["task"]
    await tamper(
        sessions,
        f"UPDATE rectificationtask SET status = 'closed' WHERE id = '{task.id.hex}'",
        f"UPDATE finding SET status = 'closed' WHERE id = '{work['severe'].id.hex}'",
        f"UPDATE disciplinereferral SET reason = 'weekly_handover' WHERE finding_id = '{work['severe'].id.hex}'",
    )
    kinds = {(d.entity, d.field, d.log, d.table) for d in (await state(sessions)).differences}
    assert kinds == {
        ("task", "status", "in_progress", "closed"),
        ("finding", "status", "open", "closed"),
        ("referral", "reason", "severe_finding", "weekly_handover"),
    }


async def test_a_row_the_log_never_made_is_a_difference(sessions: Any) -> None:
    work = await a_month_of_work(sessions)
    async with unit_of_work(sessions) as s:
        s.add(
            DisciplineReferral(
                finding_id=work["serious"].id,
                reason="weekly_handover",
                severity="serious",
                referred_at=datetime.now(UTC),
            )
        )
    [difference] = (await state(sessions)).differences
    assert (difference.entity, difference.field, difference.log, difference.table) == (
        "referral",
        "exists",
        "no",
        "yes",
    )


async def test_rows_made_before_the_log_kept_facts_are_inventoried_and_judged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 0012 logs the rows it finds as they stand: the replay starts from them, so none is exempt — a row
    backdated to before the log kept facts is one the log never made."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
    await migrate_to("audit", url, "0011")
    engine = create_engine(url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    with monkeypatch.context() as before_facts:  # what the service wrote before 0012: no facts in the log
        before_facts.setattr(ledger, "append", lambda *args, **kwargs: None)
        async with unit_of_work(sessions) as s:
            old = await findings.record_finding(s, problem("h-old", "D"), policy=POLICY, now=NOW)
    await migrate_to("audit", url, "head")
    async with sessions() as s:
        [inventory] = (await s.scalars(select(LedgerEntry).where(col(LedgerEntry.event_type) == INVENTORY))).all()
    assert len(json.loads(inventory.facts or "{}")) == 3  # the finding, its task and its referral
    assert (await state(sessions)).ok and (await verify(sessions)).ok
    await a_month_of_work(sessions)
    assert (await state(sessions)).ok
    await tamper(
        sessions,
        f"UPDATE finding SET severity = 'general' WHERE id = '{old.id.hex}'",
        "INSERT INTO disciplinereferral (id, finding_id, reason, severity, referred_at) SELECT"
        f" '{uuid.uuid4().hex}', finding_id, reason, severity, '2020-01-01 00:00:00.000000' FROM disciplinereferral"
        f" WHERE finding_id = '{old.id.hex}'",
    )
    found = {(d.entity, d.field, d.log, d.table) for d in (await state(sessions)).differences}
    assert found == {("finding", "severity", "severe", "general"), ("referral", "exists", "no", "yes")}
    await engine.dispose()


async def forge(sessions: async_sessionmaker[AsyncSession], facts: dict[str, dict[str, str]]) -> int:
    """What whoever holds the service's password can do: append an entry chained like the service's own."""
    async with unit_of_work(sessions) as s:
        last = await ledger.head(s)
        assert last is not None
        fields: dict[str, Any] = {
            "seq": last.seq + 1,
            "recorded_at": datetime.now(UTC),
            "source": f"audit:forged/{uuid.uuid4()}",
            "event_type": "gov.poverty.audit.finding_recurred.v1",
            "payload_hash": "0" * 64,
            "prev_hash": last.entry_hash,
            "facts": json.dumps(facts, sort_keys=True, separators=(",", ":")),
        }
        await s.execute(insert(LedgerEntry).values(**fields, entry_hash=entry_hash(**fields)))
        return int(fields["seq"])


async def test_a_change_the_rules_never_make_is_caught_even_logged_with_a_chained_hash(sessions: Any) -> None:
    """The reviewer's forgery: lower a severity and close a task unverified, in the tables and in the log alike."""
    work = await a_month_of_work(sessions)
    severe, serious, task = work["severe"].id, work["serious"].id, work["task"].id
    await tamper(
        sessions,
        f"UPDATE finding SET severity = 'general' WHERE id = '{severe.hex}'",
        f"UPDATE rectificationtask SET status = 'closed' WHERE id = '{task.hex}'",
        f"UPDATE finding SET status = 'closed' WHERE id = '{serious.hex}'",
    )
    lowered = await forge(sessions, {f"finding/{severe}": {"severity": "general"}})
    closed = await forge(sessions, {f"finding/{serious}": {"status": "closed"}, f"task/{task}": {"status": "closed"}})
    assert (await verify(sessions)).ok  # the chain holds: the entries were appended like any other
    found = {(d.kind, d.entity, d.field, d.log, d.seq) for d in (await state(sessions)).differences}
    assert {
        ("forbidden_transition", "finding", "severity", "severe -> general", lowered),
        ("forbidden_transition", "task", "status", "in_progress -> closed", closed),
        ("forbidden_transition", "finding", "status", "open -> closed", closed),
    } <= found
    assert ("differs", "finding", "severity", "severe", None) in found  # the forged move is not replayed


@pytest.mark.parametrize(
    ("entity", "fields", "field"),
    [
        ("task", {"status": "verified"}, "status"),  # in progress -> verified: never submitted
        ("task", {"finding_id": "00000000-0000-0000-0000-000000000000"}, "finding_id"),  # a task keeps its finding
        ("referral", {"reason": "weekly_handover"}, "reason"),  # a referral is never changed
        ("finding", {"status": "open", "severity": "severe"}, "severity"),  # recorded again: not graver
        ("referral/new", {"finding_id": "00000000-0000-0000-0000-000000000000", "reason": "x"}, "exists"),
        ("task/new", {"status": "closed"}, "exists"),  # a task made but never opened
    ],
)
async def test_each_move_the_rules_forbid_is_reported(
    sessions: Any, entity: str, fields: dict[str, str], field: str
) -> None:
    work = await a_month_of_work(sessions)
    async with sessions() as s:
        referral = (await s.scalars(select(DisciplineReferral))).first()
    assert referral is not None
    ids = {"task": work["task"].id, "referral": referral.id, "finding": work["severe"].id}
    name = f"{entity.split('/', maxsplit=1)[0]}/{uuid.uuid4()}" if "/" in entity else f"{entity}/{ids[entity]}"
    seq = await forge(sessions, {name: fields})
    forbidden = [d for d in (await state(sessions)).differences if d.kind == "forbidden_transition"]
    assert [(d.entity, d.field, d.seq) for d in forbidden] == [(name.split("/", maxsplit=1)[0], field, seq)]


async def test_an_inventory_appended_after_the_changes_began_is_judged_as_a_change(sessions: Any) -> None:
    work = await a_month_of_work(sessions)
    severe = work["severe"].id
    await tamper(sessions, f"UPDATE finding SET severity = 'general' WHERE id = '{severe.hex}'")
    async with unit_of_work(sessions) as s:
        facts = json.dumps({f"finding/{severe}": {"status": "open", "severity": "general"}})
        ledger.append(s, source="audit:ledger_inventory/x", event_type=INVENTORY, payload=b"{}", facts=facts)
    assert not (await state(sessions)).ok


# ---- anchoring -----------------------------------------------------------------------------------------------


def test_an_anchor_is_due_when_the_log_grew_and_its_time_or_size_has_come() -> None:
    assert not anchor_due(None, 0, NOW, every=HOUR, entries=10)  # nothing to anchor
    assert anchor_due(None, 1, NOW, every=HOUR, entries=10)
    last = (5, NOW)
    assert not anchor_due(last, 6, NOW + 2 * HOUR, every=HOUR, entries=10)  # only the anchor's own entry since
    assert not anchor_due(last, 8, NOW + HOUR / 2, every=HOUR, entries=10)
    assert anchor_due(last, 8, NOW + HOUR, every=HOUR, entries=10)
    assert anchor_due(last, 16, NOW + HOUR / 2, every=HOUR, entries=10)
    assert anchor_due((5, NOW + 1000 * HOUR), 8, NOW, every=HOUR, entries=10)  # dated ahead: holds nothing back


async def test_the_head_is_anchored_kept_and_published(sessions: Any) -> None:
    async with unit_of_work(sessions) as s:
        await findings.record_finding(s, problem("h1", "D"), policy=POLICY, now=NOW)
    async with unit_of_work(sessions) as s:
        anchor = await ledger_anchors.anchor_head(s, now=NOW, every=HOUR, entries=1000)
    assert anchor is not None
    async with unit_of_work(sessions) as s:  # nothing new since: not again
        assert await ledger_anchors.anchor_head(s, now=NOW + 2 * HOUR, every=HOUR, entries=1000) is None
    async with sessions() as s:
        newest = await ledger.head(s)
        message = (
            await s.scalars(select(OutboxMessage).where(col(OutboxMessage.event_type) == LedgerHeadAnchored.event_type))
        ).one()
        kept = (await s.scalars(select(LedgerAnchor))).one()
    assert newest is not None and newest.source.startswith("audit:ledger_head_anchored/")  # logged, like every change
    assert (kept.seq, kept.entry_hash) == (newest.seq - 1, anchor.entry_hash)
    published = json.loads(message.payload)
    assert (published["seq"], published["entry_hash"], message.key) == (kept.seq, kept.entry_hash, "ledger")


async def test_the_worker_run_anchors_and_counts(sessions: Any) -> None:
    async with unit_of_work(sessions) as s:
        await findings.record_finding(s, problem("h1", "D"), policy=POLICY, now=NOW)
    settings = AuditSettings(database_url="-")
    assert await ledger_anchors.run_anchoring(sessions, settings, now=NOW) is not None
    assert await ledger_anchors.run_anchoring(sessions, settings, now=NOW) is None


async def test_the_anchors_table_refuses_updates_and_deletes(sessions: Any) -> None:
    await a_month_of_work(sessions)
    for statement in ("UPDATE ledger_anchor SET seq = 1", "DELETE FROM ledger_anchor"):
        with pytest.raises(Exception, match="append-only"):
            await tamper(sessions, statement)


async def test_a_cut_tail_with_hashes_recomputed_is_caught_by_the_anchor(sessions: Any) -> None:
    await a_month_of_work(sessions)
    async with sessions() as s:
        [(anchored, _)] = await ledger.stored_anchors(s)
    await tamper(sessions, *DROP_TRIGGERS, f"DELETE FROM ledger_entry WHERE seq >= {anchored}")
    result = await verify(sessions)
    assert not result.ok and result.first_break is not None
    assert (result.first_break.kind, result.first_break.seq, result.anchors_checked) == (
        "anchor_truncated",
        anchored,
        1,
    )


async def test_a_rewrite_from_the_middle_with_hashes_recomputed_is_caught_by_the_anchor(sessions: Any) -> None:
    await a_month_of_work(sessions)
    await tamper(sessions, *DROP_TRIGGERS, "UPDATE ledger_entry SET payload_hash = '" + "0" * 64 + "' WHERE seq = 2")
    assert not (await verify(sessions)).ok  # a plain edit breaks the chain ...
    await rechain_from(sessions, 2)
    result = await verify(sessions)  # ... a forger recomputes every hash after it: the anchor still differs
    assert result.first_break is not None and result.first_break.kind == "anchor_mismatch"
    assert result.entries_checked == result.head_seq  # the chain itself is whole


@pytest.mark.parametrize(
    "anchor",
    [
        "SELECT seq + 100, entry_hash, recorded_at",  # an entry the log never reached
        "SELECT seq, '" + "a" * 64 + "', recorded_at",  # another hash than the entry's
        "SELECT seq - 1, (SELECT entry_hash FROM ledger_entry WHERE seq = e.seq - 1), recorded_at",  # below the last
    ],
)
async def test_only_the_anchor_of_an_entry_of_the_log_after_the_last_is_kept(sessions: Any, anchor: str) -> None:
    await a_month_of_work(sessions)
    with pytest.raises(DBAPIError, match="only an entry of the log, after every earlier anchor"):
        await tamper(
            sessions,
            "INSERT INTO ledger_anchor (seq, entry_hash, recorded_at, anchored_at, anchor_id) "
            f"{anchor}, recorded_at, '{uuid.uuid4().hex}' FROM ledger_entry e WHERE seq = "
            "(SELECT max(seq) FROM ledger_anchor)",
        )


async def test_one_planted_entry_hides_nothing_after_it(sessions: Any) -> None:
    """An entry planted below the first is reported, and the walk and the anchors still catch a later rewrite."""
    await a_month_of_work(sessions)
    async with sessions() as s:
        kept = await ledger.stored_anchors(s)
    columns = "seq, recorded_at, source, event_type, payload_hash, prev_hash, entry_hash"
    await tamper(
        sessions,
        f"INSERT INTO ledger_entry ({columns}) SELECT -1, recorded_at, 'x', 'x', payload_hash, prev_hash, entry_hash"
        " FROM ledger_entry WHERE seq = 1",
    )
    planted = await verify(sessions)
    assert planted.first_break is not None and planted.first_break.kind == "inserted"
    assert (planted.break_count, planted.anchors_checked, planted.entries_checked) == (1, 1, planted.head_seq)
    await tamper(sessions, *DROP_TRIGGERS, "UPDATE ledger_entry SET payload_hash = '" + "0" * 64 + "' WHERE seq = 2")
    await rechain_from(sessions, 2)
    rewritten = await verify(sessions, anchors=kept)
    assert [(b.kind, b.seq) for b in rewritten.breaks] == [("inserted", -1), ("anchor_mismatch", kept[0][0])]
    assert rewritten.anchors_checked == 1  # the same anchor, from the database and from outside


async def test_every_break_is_reported(sessions: Any) -> None:
    await a_month_of_work(sessions)
    await tamper(sessions, *DROP_TRIGGERS, "UPDATE ledger_entry SET source = 'x' WHERE seq IN (2, 4)")
    result = await verify(sessions)
    assert [(b.kind, b.seq) for b in result.breaks] == [("altered", 2), ("altered", 4)] and result.break_count == 2


async def test_sqlite_never_protects_the_log(sessions: Any) -> None:
    result = await verify(sessions)
    assert result.ok and not result.protected and "SQLite" in result.protection


async def test_the_handover_package_holds_the_weeks_anchors(sessions: Any) -> None:
    await a_month_of_work(sessions)
    async with sessions() as s:
        package = to_json(await handover.weekly_package(s, IsoWeek.of(NOW), now=NOW + 7 * 24 * HOUR))
        [(seq, hash_)] = await ledger.stored_anchors(s)
    assert [(a["seq"], a["entry_hash"]) for a in package["anchors"]] == [(seq, hash_)]
    assert anchors_in(package) == [(seq, hash_)]


def test_anchors_are_read_from_packages_and_lists_and_refused_otherwise() -> None:
    good: dict[str, Any] = {"seq": 3, "entry_hash": "a" * 64}
    assert anchors_in([good, {**good, "anchor_id": "x", "anchored_at": "t"}]) == [(3, "a" * 64)] * 2
    bad: Any
    for bad in ({"leads": []}, [{"seq": 3}], [{"seq": "x", "entry_hash": "a" * 64}], [{**good, "entry_hash": "A"}]):
        with pytest.raises(ValueError):
            anchors_in(bad)


# ---- the command line and the API ----------------------------------------------------------------------------


async def test_poverty_verify_ledger_uses_anchors_kept_outside_the_database(
    database: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, sessions = database
    await a_month_of_work(sessions)
    async with sessions() as s:
        package = to_json(await handover.weekly_package(s, IsoWeek.of(NOW), now=NOW + 7 * 24 * HOUR))
    kept = tmp_path / "package.json"
    kept.write_text(json.dumps(package))
    monkeypatch.setenv("AUDIT_DATABASE_URL", url)
    assert await asyncio.to_thread(main, ["verify-ledger", "--anchors", str(kept)]) == 0
    # Cut the tail back to before the anchor, recompute nothing, and take the anchors kept in the database with it.
    anchored = package["anchors"][0]["seq"]
    await tamper(
        sessions, *DROP_TRIGGERS, f"DELETE FROM ledger_entry WHERE seq >= {anchored}", "DELETE FROM ledger_anchor"
    )
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["verify-ledger"]) == 1  # the state still says more than the log
    assert await asyncio.to_thread(main, ["verify-ledger", "--anchors", str(kept)]) == 1
    report = json.loads(capsys.readouterr().out.split("\n}\n")[-2] + "\n}")
    assert report["first_break"]["kind"] == "anchor_truncated" and report["anchors_checked"] == 1
    for content in ("not json", json.dumps({"anchors": [{"seq": 1}]})):
        kept.write_text(content)
        assert await asyncio.to_thread(main, ["verify-ledger", "--anchors", str(kept)]) == USAGE_ERROR
    assert await asyncio.to_thread(main, ["verify-ledger", "--anchors", str(tmp_path / "none")]) == USAGE_ERROR


async def test_poverty_verify_ledger_reports_state_differences(
    database: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, sessions = database
    work = await a_month_of_work(sessions)
    monkeypatch.setenv("AUDIT_DATABASE_URL", url)
    await tamper(sessions, f"UPDATE finding SET severity = 'general' WHERE id = '{work['severe'].id.hex}'")
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["verify-ledger"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["state"]["ok"] is False
    assert report["state"]["differences"] == [
        {
            "entity": "finding",
            "id": str(work["severe"].id),
            "field": "severity",
            "log": "severe",
            "table": "general",
            "kind": "differs",
            "seq": None,
        }
    ]


async def test_the_state_check_endpoint(database: Any) -> None:
    url, sessions = database
    work = await a_month_of_work(sessions)
    async with running_app("audit", url) as (_, client):
        clean = await client.get("/v1/ledger/state-check", headers=auth("auditor"))
        assert clean.status_code == 200 and clean.json()["ok"] is True
        await tamper(sessions, f"DELETE FROM disciplinereferral WHERE finding_id = '{work['severe'].id.hex}'")
        found = (await client.get("/v1/ledger/state-check", headers=auth("discipline_commission"))).json()
        assert found["ok"] is False and [(d["entity"], d["field"]) for d in found["differences"]] == [
            ("referral", "exists")
        ]
        verdict = (await client.get("/v1/ledger/verify", headers=auth("auditor"))).json()
        assert verdict["ok"] is True and verdict["anchors_checked"] == 1
        assert_problem(await client.get("/v1/ledger/state-check", headers=auth("township_office", area="371523")), 403)


async def test_finding_rows_keep_their_state_in_the_log(sessions: Any) -> None:
    work = await a_month_of_work(sessions)
    async with sessions() as s:
        entry = (
            await s.scalars(select(LedgerEntry).where(col(LedgerEntry.source).startswith("audit:finding_recorded/")))
        ).first()
        finding = await s.get(Finding, work["severe"].id)
    assert entry is not None and finding is not None
    assert json.loads(entry.facts or "") == {f"finding/{finding.id}": {"severity": "severe", "status": "open"}}

"""The tamper-evident log on SQLite: the chain, the refusing triggers, and each kind of tampering caught."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from sqlmodel import col

from services.audit.domain import ledger
from services.audit.events import publish
from services.audit.handlers import build_handlers
from services.audit.models import LedgerEntry
from services.audit.rules.ledger import GENESIS_HASH, Verification, entry_hash, recompute, sha256_hex
from services.audit.settings import AuditSettings
from shared.cli import USAGE_ERROR, main
from shared.contracts import SUBSIDIES_TOPIC
from shared.contracts.audit import FindingRecurred
from shared.db import create_engine, unit_of_work
from shared.messaging import outbox
from shared.messaging.cloudevents import Envelope

DROP_TRIGGERS = ("DROP TRIGGER ledger_entry_no_update", "DROP TRIGGER ledger_entry_no_delete")


@pytest.fixture
async def sessions(sqlite_url: Any) -> Any:
    engine = create_engine(await sqlite_url("audit"))
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def append(sessions: async_sessionmaker[AsyncSession], n: int) -> list[LedgerEntry]:
    """Queue `n` entries in one transaction; return the log as it stands after the commit."""
    async with unit_of_work(sessions) as s:
        for i in range(n):
            ledger.append(s, source=f"test/{i}", event_type="gov.poverty.t.v1", payload=f'{{"n":{i}}}'.encode())
    async with sessions() as s:
        return list((await s.scalars(select(LedgerEntry).order_by(col(LedgerEntry.seq)))).all())


async def verify(sessions: async_sessionmaker[AsyncSession], **kw: Any) -> Verification:
    async with sessions() as s:
        return await ledger.verify(s, **kw)


async def tamper(sessions: async_sessionmaker[AsyncSession], *statements: str) -> None:
    """What someone with raw database access does: drop the triggers, then rewrite rows."""
    async with unit_of_work(sessions) as s:
        for statement in (*DROP_TRIGGERS, *statements):
            await s.execute(text(statement))


async def test_entries_chain_from_genesis_and_verify(sessions: Any) -> None:
    entries = await append(sessions, 3)
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].prev_hash == GENESIS_HASH
    assert [e.prev_hash for e in entries[1:]] == [e.entry_hash for e in entries[:-1]]
    result = await verify(sessions)
    assert (result.ok, result.entries_checked, result.head_seq) == (True, 3, 3)
    assert result.head_hash == entries[-1].entry_hash


def test_the_hash_covers_every_field_in_a_fixed_canonical_form() -> None:
    fields: dict[str, Any] = {
        "seq": 7,
        "recorded_at": datetime(2020, 5, 11, 2, tzinfo=UTC),
        "source": "households.events/e-1",
        "event_type": "t",
        "payload_hash": "a" * 64,
        "prev_hash": "b" * 64,
    }
    assert entry_hash(**fields) == sha256_hex(
        b'{"event_type":"t","payload_hash":"'
        + b"a" * 64
        + b'","prev_hash":"'
        + b"b" * 64
        + b'","recorded_at":"2020-05-11T02:00:00.000000+00:00","seq":7,"source":"households.events/e-1"}'
    )
    for name, other in (("seq", 8), ("source", "x"), ("payload_hash", "c" * 64), ("prev_hash", "d" * 64)):
        assert entry_hash(**{**fields, name: other}) != entry_hash(**fields)


@pytest.mark.parametrize(
    "statement", ["UPDATE ledger_entry SET source = 'x' WHERE seq = 1", "DELETE FROM ledger_entry WHERE seq = 1"]
)
async def test_the_table_refuses_updates_and_deletes(sessions: Any, statement: str) -> None:
    await append(sessions, 2)
    with pytest.raises(DBAPIError, match="append-only"):
        async with unit_of_work(sessions) as s:
            await s.execute(text(statement))
    assert (await verify(sessions)).ok


async def test_an_edited_entry_is_caught(sessions: Any) -> None:
    await append(sessions, 4)
    await tamper(sessions, "UPDATE ledger_entry SET payload_hash = '" + "0" * 64 + "' WHERE seq = 3")
    result = await verify(sessions)
    assert not result.ok and result.first_break is not None
    assert (result.first_break.seq, result.first_break.kind, result.entries_checked) == (3, "altered", 4)
    assert result.break_count == 1  # the walk went on: the entries after it still follow it


async def test_an_edited_entry_with_a_recomputed_hash_breaks_the_next_link(sessions: Any) -> None:
    entries = await append(sessions, 4)
    forged = entries[1].model_copy(update={"source": "forged"})
    forged_hash = recompute(forged)
    await tamper(sessions, f"UPDATE ledger_entry SET source = 'forged', entry_hash = '{forged_hash}' WHERE seq = 2")
    result = await verify(sessions)
    assert result.first_break is not None
    assert (result.first_break.seq, result.first_break.kind) == (3, "broken_link")


async def test_a_deleted_entry_is_caught_as_a_gap(sessions: Any) -> None:
    await append(sessions, 5)
    await tamper(sessions, "DELETE FROM ledger_entry WHERE seq = 2")
    result = await verify(sessions)
    assert result.first_break is not None
    assert (result.first_break.seq, result.first_break.kind) == (2, "missing_entries")


async def test_reordered_entries_are_caught(sessions: Any) -> None:
    await append(sessions, 5)
    await tamper(
        sessions,
        "UPDATE ledger_entry SET seq = -1 WHERE seq = 3",
        "UPDATE ledger_entry SET seq = 3 WHERE seq = 4",
        "UPDATE ledger_entry SET seq = 4 WHERE seq = -1",
    )
    result = await verify(sessions)
    assert result.first_break is not None
    assert (result.first_break.seq, result.first_break.kind) == (3, "reordered")


async def test_an_entry_slipped_in_before_the_first_is_caught(sessions: Any) -> None:
    await append(sessions, 3)
    columns = "seq, recorded_at, source, event_type, payload_hash, prev_hash, entry_hash"
    await tamper(
        sessions,
        f"INSERT INTO ledger_entry ({columns}) SELECT 0, recorded_at, 'forged', event_type, payload_hash, "
        "prev_hash, entry_hash FROM ledger_entry WHERE seq = 1",
    )
    result = await verify(sessions)
    assert result.first_break is not None
    assert (result.first_break.seq, result.first_break.kind, result.entries_checked) == (0, "inserted", 3)
    assert result.break_count == 1  # the chain from the first entry on is whole


async def test_the_head_exported_from_the_empty_log_verifies(sessions: Any) -> None:
    assert (await verify(sessions, expected_head=(0, GENESIS_HASH))).ok
    await append(sessions, 2)
    assert (await verify(sessions, expected_head=(0, GENESIS_HASH))).ok  # any chain reaches its genesis
    wrong = await verify(sessions, expected_head=(0, "f" * 64))
    assert wrong.first_break is not None and wrong.first_break.kind == "head_mismatch"


async def test_an_exported_head_catches_a_cut_or_rewritten_tail(sessions: Any) -> None:
    entries = await append(sessions, 4)
    head = (4, entries[-1].entry_hash)
    assert (await verify(sessions, expected_head=head)).ok
    assert (await verify(sessions, expected_head=(4, "f" * 64))).first_break.kind == "head_mismatch"  # type: ignore[union-attr]
    await tamper(sessions, "DELETE FROM ledger_entry WHERE seq = 4")
    assert (await verify(sessions)).ok  # the chain alone cannot see a cut tail
    cut = await verify(sessions, expected_head=head)
    assert cut.first_break is not None and (cut.first_break.seq, cut.first_break.kind) == (4, "head_truncated")


async def test_entries_of_a_rolled_back_transaction_are_never_written(sessions: Any) -> None:
    async with sessions() as s:  # one session, two transactions: the first fails
        with pytest.raises(RuntimeError):
            async with s.begin():
                ledger.append(s, source="lost", event_type="t", payload=b"{}")
                raise RuntimeError("the use case failed")
        async with s.begin():
            ledger.append(s, source="kept", event_type="t", payload=b"{}")
    async with sessions() as s:
        assert (await s.scalars(select(col(LedgerEntry.source)))).all() == ["kept"]


async def test_entries_follow_their_savepoint_dropped_on_rollback_and_written_at_the_real_commit(
    sessions: Any,
) -> None:
    statements: list[str] = []
    async with sessions() as s:
        event.listen(s.sync_session.bind, "before_cursor_execute", lambda *a: statements.append(a[2]))
        async with s.begin():
            ledger.append(s, source="outer", event_type="t", payload=b"{}")
            with pytest.raises(RuntimeError):
                async with s.begin_nested():
                    ledger.append(s, source="rolled-back", event_type="t", payload=b"{}")
                    raise RuntimeError("a step failed and was handled")
            async with s.begin_nested():
                ledger.append(s, source="released", event_type="t", payload=b"{}")
            assert not any("ledger_entry" in sql for sql in statements)  # not at the savepoint's release
    async with sessions() as s:
        sources = (await s.scalars(select(col(LedgerEntry.source)).order_by(col(LedgerEntry.seq)))).all()
    assert sources == ["outer", "released"]


async def test_concurrent_writers_never_fork_the_chain(sessions: Any) -> None:
    await asyncio.gather(*(append(sessions, 3) for _ in range(12)))
    result = await verify(sessions)
    assert (result.ok, result.entries_checked) == (True, 36)


async def test_every_event_of_the_other_services_is_logged_by_the_consumer(sessions: Any) -> None:
    handlers = build_handlers(AuditSettings(database_url="unused"))
    unknown = Envelope(
        id=str(uuid.uuid4()),
        type="gov.poverty.subsidies.something_new.v7",
        source="/s",
        subject="k",
        time=datetime.now(UTC),
        data=b'{"any":"payload"}',
    )
    application = handlers.bind(SUBSIDIES_TOPIC, unknown)
    assert application is not None
    async with unit_of_work(sessions) as s:
        await application(s)
    async with sessions() as s:
        entry = (await s.scalars(select(LedgerEntry).order_by(col(LedgerEntry.seq)))).one()
    assert (entry.source, entry.event_type) == (f"{SUBSIDIES_TOPIC}/{unknown.id}", unknown.type)
    assert entry.payload_hash == sha256_hex(unknown.data)


async def test_a_changes_events_are_written_before_the_log_takes_its_lock(sessions: Any) -> None:
    """The log's write lock serializes every writer: it is taken last, after the transaction's outbox rows,
    whichever of the two commit hooks runs first (here the outbox's is moved behind the log's)."""
    statements: list[list[str]] = []
    engine = sessions.kw["bind"].sync_engine
    record = lambda *args: statements.append(args[2].split()[0:3])  # noqa: E731 - (conn, cursor, statement, ...)
    event.listen(engine, "before_cursor_execute", record)
    event.remove(Session, "before_commit", outbox._write_before_commit)
    event.listen(Session, "before_commit", outbox._write_before_commit)
    try:
        async with unit_of_work(sessions) as s:
            recurred = FindingRecurred(finding_id=uuid.uuid4(), subject_kind="household", subject_id="h", occurrences=2)
            publish(s, recurred)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    outbox_insert = statements.index(["INSERT", "INTO", "outbox"])
    lock = statements.index(["UPDATE", "ledger_entry", "SET"])  # SQLite's form of the log's write lock
    assert outbox_insert < lock < statements.index(["INSERT", "INTO", "ledger_entry"])


async def test_poverty_verify_ledger_checks_the_log_in_the_database(
    sqlite_url: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = await sqlite_url("audit")
    engine = create_engine(url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    entries = await append(sessions, 3)
    monkeypatch.setenv("AUDIT_DATABASE_URL", url)
    head = f"3:{entries[-1].entry_hash}"
    # The command runs its own event loop, as it does from a shell.
    assert await asyncio.to_thread(main, ["verify-ledger", "--head", head]) == 0
    await tamper(sessions, "UPDATE ledger_entry SET payload_hash = '" + "0" * 64 + "' WHERE seq = 2")
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["verify-ledger", "--head", head]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["first_break"]["seq"] == 2 and report["first_break"]["kind"] == "altered"
    assert await asyncio.to_thread(main, ["verify-ledger", "--head", "3:not-a-hash"]) == USAGE_ERROR
    await engine.dispose()

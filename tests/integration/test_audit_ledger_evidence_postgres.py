"""The log as evidence on PostgreSQL: migrated as the schema's owner, the service's own role may only insert into the
log and read it — it can neither disable, drop nor get past the triggers — while the service works as before; and the
tamperings of someone who has the owner's rights (a deleted referral, a lowered severity, a cut tail, a rewrite from
the middle with every hash recomputed) are each caught."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import insert, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.audit.domain import findings, ledger, ledger_anchors, ledger_state
from services.audit.models import DisciplineReferral, LedgerEntry
from services.audit.rules.findings import DeadlinePolicy, ProblemFacts
from services.audit.rules.ledger import GENESIS_HASH, entry_hash, recompute
from shared.cli import CONFIGURATION_ERROR, main
from shared.contracts.audit import SubjectKind
from shared.contracts.households import ProblemCategory
from shared.db import create_engine, unit_of_work
from shared.local.databases import ScratchDatabases
from shared.migrations import alembic_config
from tests.support import auth, running_app

NOW = datetime.now(UTC)
HOUR = timedelta(hours=1)
PASSWORD = "ledger-test-only"
APPEND_ONLY_TRIGGERS = {"ledger_entry": "ledger_entry_append_only", "ledger_anchor": "ledger_anchor_append_only"}


@dataclass(frozen=True)
class Roles:
    owner_url: str
    service_url: str


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


async def admin(postgres_admin_url: str, *statements: str) -> None:
    await ScratchDatabases(postgres_admin_url)._run(*statements)


@pytest.fixture
async def roles(postgres_admin_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Roles]:
    """A database owned by its own owner role, with the service's role apart, migrated as `poverty migrate audit` does
    with AUDIT_MIGRATION_DATABASE_URL (the owner) and AUDIT_DATABASE_URL (the service)."""
    suffix = uuid.uuid4().hex[:8]
    owner, service, database = f"audit_owner_{suffix}", f"audit_app_{suffix}", f"t_audit_roles_{suffix}"
    await admin(
        postgres_admin_url,
        f"CREATE ROLE {owner} LOGIN PASSWORD '{PASSWORD}'",
        f"CREATE ROLE {service} LOGIN PASSWORD '{PASSWORD}'",
        f"CREATE DATABASE {database} OWNER {owner}",
        f"REVOKE ALL ON DATABASE {database} FROM PUBLIC",
    )
    base = make_url(postgres_admin_url).set(database=database, password=PASSWORD)
    urls = Roles(
        base.set(username=owner).render_as_string(hide_password=False),
        base.set(username=service).render_as_string(hide_password=False),
    )
    monkeypatch.setenv("AUDIT_DATABASE_URL", urls.service_url)
    monkeypatch.setenv("AUDIT_MIGRATION_DATABASE_URL", urls.owner_url)
    try:
        assert await asyncio.to_thread(main, ["migrate", "audit"]) == 0
        yield urls
    finally:
        await admin(
            postgres_admin_url,
            f"DROP DATABASE IF EXISTS {database} WITH (FORCE)",
            f"DROP ROLE {service}",
            f"DROP ROLE {owner}",
        )


@pytest.fixture
async def service_sessions(roles: Roles) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(roles.service_url)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


@pytest.fixture
async def owner_sessions(roles: Roles) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(roles.owner_url)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def some_work(sessions: async_sessionmaker[AsyncSession]) -> None:
    """A severe finding (task and referral), an anchor, then a serious and a general finding."""
    async with unit_of_work(sessions) as s:
        await findings.record_finding(s, problem("h-severe", "D"), policy=DeadlinePolicy(), now=NOW)
    async with unit_of_work(sessions) as s:
        await ledger_anchors.anchor_head(s, now=NOW, every=HOUR, entries=1000)
    for household, grade in (("h-serious", "C"), ("h-general", "B")):
        async with unit_of_work(sessions) as s:
            await findings.record_finding(s, problem(household, grade), policy=DeadlinePolicy(), now=NOW + HOUR)


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE ledger_entry DISABLE TRIGGER ledger_entry_append_only",
        "ALTER TABLE ledger_entry DISABLE TRIGGER ALL",
        "DROP TRIGGER ledger_entry_append_only ON ledger_entry",
        "DROP TRIGGER ledger_entry_no_truncate ON ledger_entry",
        "UPDATE ledger_entry SET source = 'x' WHERE seq = 1",
        "DELETE FROM ledger_entry WHERE seq = 1",
        "TRUNCATE ledger_entry",
        "ALTER TABLE ledger_entry OWNER TO CURRENT_USER",
        "DROP TABLE ledger_entry",
        "ALTER TABLE ledger_anchor DISABLE TRIGGER ledger_anchor_append_only",
        "UPDATE ledger_anchor SET seq = 1",
        "DELETE FROM ledger_anchor",
        "TRUNCATE ledger_anchor",
        "CREATE OR REPLACE FUNCTION ledger_entry_refuse_change() RETURNS trigger LANGUAGE plpgsql"
        " AS $$ BEGIN RETURN OLD; END $$",
    ],
)
async def test_the_service_role_cannot_alter_what_protects_the_log(
    service_sessions: async_sessionmaker[AsyncSession], statement: str
) -> None:
    await some_work(service_sessions)  # the service's writes: findings, tasks, referrals, the log, an anchor
    with pytest.raises(DBAPIError) as refused:
        async with unit_of_work(service_sessions) as s:
            await s.execute(text(statement))
    assert getattr(refused.value.orig, "sqlstate", None) == "42501", refused.value  # insufficient_privilege
    async with service_sessions() as s:
        assert (await ledger.verify(s)).ok and (await ledger_state.check_state(s)).ok


async def test_the_service_role_neither_owns_the_log_nor_belongs_to_its_owner(
    service_sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with service_sessions() as s:
        for table in APPEND_ONLY_TRIGGERS:
            row = (
                await s.execute(
                    text(
                        "SELECT pg_has_role(current_user, t.tableowner, 'MEMBER'),"
                        " has_table_privilege(t.tablename, 'UPDATE'), has_table_privilege(t.tablename, 'DELETE'),"
                        " has_table_privilege(t.tablename, 'TRUNCATE'), has_table_privilege(t.tablename, 'INSERT'),"
                        " has_table_privilege(t.tablename, 'SELECT') FROM pg_tables t WHERE t.tablename = :table"
                    ),
                    {"table": table},
                )
            ).one()
            assert tuple(row) == (False, False, False, False, True, True), table
        # every other table is the service's to write
        assert await s.scalar(text("SELECT has_table_privilege('finding', 'UPDATE, DELETE')"))


async def test_the_service_works_on_its_own_role(roles: Roles) -> None:
    async with running_app("audit", roles.service_url) as (_, client):
        created = await client.post(
            "/v1/findings",
            headers=auth("inspector"),
            json={
                "subject_kind": "household",
                "subject_id": str(uuid.uuid4()),
                "area_code": "371523101201",
                "category": "housing",
                "code": "housing_unsafe",
                "description": "危房",
                "severity": "severe",
                "evidence": [{"kind": "photo", "reference": "archive://2020/05/0017.jpg"}],
            },
        )
        assert created.status_code == 201, created.text
        verdict = (await client.get("/v1/ledger/verify", headers=auth("auditor"))).json()
        assert verdict["ok"] is True and verdict["entries_checked"] >= 3
        assert (await client.get("/v1/ledger/state-check", headers=auth("auditor"))).json()["ok"] is True


async def test_migrating_refuses_a_service_role_inside_the_owner_role(
    postgres_admin_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    suffix = uuid.uuid4().hex[:8]
    owner, service, database = f"audit_owner_{suffix}", f"audit_app_{suffix}", f"t_audit_member_{suffix}"
    await admin(
        postgres_admin_url,
        f"CREATE ROLE {owner} LOGIN PASSWORD '{PASSWORD}'",
        f"CREATE ROLE {service} LOGIN PASSWORD '{PASSWORD}' IN ROLE {owner}",
        f"CREATE DATABASE {database} OWNER {owner}",
    )
    base = make_url(postgres_admin_url).set(database=database, password=PASSWORD)
    monkeypatch.setenv("AUDIT_DATABASE_URL", base.set(username=service).render_as_string(hide_password=False))
    monkeypatch.setenv("AUDIT_MIGRATION_DATABASE_URL", base.set(username=owner).render_as_string(hide_password=False))
    try:
        assert await asyncio.to_thread(main, ["migrate", "audit"]) == CONFIGURATION_ERROR
        assert "member of the schema's owner" in capsys.readouterr().err
    finally:
        await admin(
            postgres_admin_url,
            f"DROP DATABASE IF EXISTS {database} WITH (FORCE)",
            f"DROP ROLE {service}",
            f"DROP ROLE {owner}",
        )


async def test_migrating_names_a_missing_service_role_in_one_line(
    postgres_admin_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    suffix = uuid.uuid4().hex[:8]
    owner, database = f"audit_owner_{suffix}", f"t_audit_norole_{suffix}"
    await admin(
        postgres_admin_url,
        f"CREATE ROLE {owner} LOGIN PASSWORD '{PASSWORD}'",
        f"CREATE DATABASE {database} OWNER {owner}",
    )
    base = make_url(postgres_admin_url).set(database=database, password=PASSWORD)
    monkeypatch.setenv("AUDIT_DATABASE_URL", base.set(username=f"nobody_{suffix}").render_as_string(False))
    monkeypatch.setenv("AUDIT_MIGRATION_DATABASE_URL", base.set(username=owner).render_as_string(False))
    try:
        assert await asyncio.to_thread(main, ["migrate", "audit"]) == CONFIGURATION_ERROR
        [line] = capsys.readouterr().err.splitlines()
        assert f"'nobody_{suffix}'" in line and "does not exist" in line
    finally:
        await admin(postgres_admin_url, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)", f"DROP ROLE {owner}")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE alembic_version SET version_num = '0011'",
        "DELETE FROM alembic_version",
        "INSERT INTO alembic_version VALUES ('0011')",
    ],
)
async def test_the_service_role_cannot_rewind_the_migrations(
    service_sessions: async_sessionmaker[AsyncSession], statement: str
) -> None:
    with pytest.raises(DBAPIError) as refused:
        async with unit_of_work(service_sessions) as s:
            await s.execute(text(statement))
    assert getattr(refused.value.orig, "sqlstate", None) == "42501", refused.value


async def test_verification_says_whether_its_role_could_change_the_log(
    service_sessions: async_sessionmaker[AsyncSession], owner_sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with service_sessions() as s:
        assert (await ledger.verify(s)).protected
    async with owner_sessions() as s:
        as_owner = await ledger.verify(s)
    assert as_owner.ok and not as_owner.protected and "owns the log" in as_owner.protection


async def test_the_service_role_cannot_plant_an_anchor(service_sessions: async_sessionmaker[AsyncSession]) -> None:
    """Dated ahead, its date is the database's; of another hash, or of an entry the log never reached, refused."""
    await some_work(service_sessions)
    async with service_sessions() as s:
        newest = await ledger.head(s)
    assert newest is not None
    insert = text(
        "INSERT INTO ledger_anchor (seq, entry_hash, recorded_at, anchored_at, anchor_id) "
        "VALUES (:seq, :hash, :at, '2100-01-01T00:00:00Z', :id)"
    )
    for seq, hash_ in ((newest.seq, "a" * 64), (newest.seq + 100, newest.entry_hash)):
        with pytest.raises(DBAPIError, match="is not in the log"):
            async with unit_of_work(service_sessions) as s:
                await s.execute(insert, {"seq": seq, "hash": hash_, "at": newest.recorded_at, "id": uuid.uuid4()})
    async with unit_of_work(service_sessions) as s:
        args = {"seq": newest.seq, "hash": newest.entry_hash, "at": newest.recorded_at, "id": uuid.uuid4()}
        await s.execute(insert, args)
    async with service_sessions() as s:
        planted = await ledger_anchors.latest_anchor(s)
    assert planted is not None and planted.anchored_at < datetime.now(UTC) + HOUR
    async with unit_of_work(service_sessions) as s:  # the log grows; anchoring goes on
        await findings.record_finding(s, problem("h-later", "B"), policy=DeadlinePolicy(), now=NOW)
    async with unit_of_work(service_sessions) as s:
        made = await ledger_anchors.anchor_head(s, now=datetime.now(UTC) + 2 * HOUR, every=HOUR, entries=1000)
    assert made is not None


async def test_entries_the_service_role_forges_are_caught_by_the_rules(
    service_sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Lower a severity in its table and append a chained entry that says so: the chain holds, the replay does not."""
    await some_work(service_sessions)
    async with unit_of_work(service_sessions) as s:
        referral = (await s.scalars(select(DisciplineReferral))).one()
        await s.execute(text(f"UPDATE finding SET severity = 'general' WHERE id = '{referral.finding_id}'"))
        last = await ledger.head(s)
        assert last is not None
        fields: dict[str, Any] = {
            "seq": last.seq + 1,
            "recorded_at": datetime.now(UTC),
            "source": "audit:forged/1",
            "event_type": "x",
            "payload_hash": "0" * 64,
            "prev_hash": last.entry_hash,
            "facts": f'{{"finding/{referral.finding_id}":{{"severity":"general"}}}}',
        }
        await s.execute(insert(LedgerEntry).values(**fields, entry_hash=entry_hash(**fields)))
    chain, state = await checked(service_sessions)
    assert chain.ok
    assert [(d.kind, d.field, d.log) for d in state.differences] == [
        ("forbidden_transition", "severity", "severe -> general"),
        ("differs", "severity", "severe"),
    ]


async def test_downgrading_takes_back_what_was_granted(
    roles: Roles, owner_sessions: async_sessionmaker[AsyncSession]
) -> None:
    config = alembic_config("audit")

    def downgrade(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, "0011")

    async with owner_sessions() as s:
        await (await s.connection()).run_sync(downgrade)
        await s.commit()
    service = make_url(roles.service_url).username
    async with owner_sessions() as s:
        granted = text(
            "SELECT has_database_privilege(:role, current_database(), 'CONNECT'),"
            " has_table_privilege(:role, 'finding', 'SELECT'), has_table_privilege(:role, 'ledger_entry', 'INSERT')"
        )
        assert tuple((await s.execute(granted, {"role": service})).one()) == (False, False, False)


# ---- what someone with the owner's rights can still do, and how it is caught ------------------------------------


async def as_owner(sessions: async_sessionmaker[AsyncSession], *statements: str) -> None:
    """The owner switches the triggers off, changes rows and switches them on again."""
    async with unit_of_work(sessions) as s:
        for table, trigger in APPEND_ONLY_TRIGGERS.items():
            await s.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}"))
        for statement in statements:
            await s.execute(text(statement))
        for table, trigger in APPEND_ONLY_TRIGGERS.items():
            await s.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}"))


async def rechain_from(sessions: async_sessionmaker[AsyncSession], seq: int) -> None:
    async with unit_of_work(sessions) as s:
        await s.execute(text("ALTER TABLE ledger_entry DISABLE TRIGGER ledger_entry_append_only"))
        entries = list((await s.scalars(select(LedgerEntry).order_by(col(LedgerEntry.seq)))).all())
        previous = next((e.entry_hash for e in entries if e.seq == seq - 1), GENESIS_HASH)
        for entry in (e for e in entries if e.seq >= seq):
            entry.prev_hash = previous
            entry.entry_hash = previous = recompute(entry)
        await s.flush()
        await s.execute(text("ALTER TABLE ledger_entry ENABLE TRIGGER ledger_entry_append_only"))


async def checked(sessions: async_sessionmaker[AsyncSession]) -> tuple[Any, ledger_state.StateCheck]:
    async with sessions() as s:
        return await ledger.verify(s), await ledger_state.check_state(s)


async def test_a_deleted_referral_and_a_lowered_severity_are_caught(
    service_sessions: async_sessionmaker[AsyncSession], owner_sessions: async_sessionmaker[AsyncSession]
) -> None:
    await some_work(service_sessions)
    async with service_sessions() as s:
        referral = (await s.scalars(select(DisciplineReferral))).one()
    await as_owner(
        owner_sessions,
        f"DELETE FROM disciplinereferral WHERE id = '{referral.id}'",
        f"UPDATE finding SET severity = 'general' WHERE id = '{referral.finding_id}'",
    )
    chain, state = await checked(service_sessions)
    assert chain.ok  # the log itself is untouched
    assert {(d.entity, d.id, d.field, d.log, d.table) for d in state.differences} == {
        ("referral", str(referral.id), "exists", "yes", "no"),
        ("finding", str(referral.finding_id), "severity", "severe", "general"),
    }


async def test_a_cut_tail_is_caught_by_the_anchor(
    service_sessions: async_sessionmaker[AsyncSession], owner_sessions: async_sessionmaker[AsyncSession]
) -> None:
    await some_work(service_sessions)
    async with service_sessions() as s:
        [(anchored, _)] = await ledger.stored_anchors(s)
    await as_owner(owner_sessions, f"DELETE FROM ledger_entry WHERE seq >= {anchored}")
    chain, state = await checked(service_sessions)
    assert chain.first_break is not None and chain.first_break.kind == "anchor_truncated"
    assert not state.ok  # and the findings recorded after it are rows the log never made


async def test_a_rewrite_from_the_middle_with_hashes_recomputed_is_caught_by_the_anchor(
    service_sessions: async_sessionmaker[AsyncSession], owner_sessions: async_sessionmaker[AsyncSession]
) -> None:
    await some_work(service_sessions)
    await as_owner(owner_sessions, "UPDATE ledger_entry SET payload_hash = repeat('0', 64) WHERE seq = 2")
    await rechain_from(owner_sessions, 2)
    chain, _ = await checked(service_sessions)
    assert chain.entries_checked == chain.head_seq  # every link holds ...
    assert chain.first_break is not None and chain.first_break.kind == "anchor_mismatch"  # ... but not the anchor

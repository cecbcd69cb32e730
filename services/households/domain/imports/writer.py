"""Writing prepared households in bulk: per chunk of ~1,000 households, two look-ups and one COPY (PostgreSQL)
or multi-row INSERT (SQLite) per table, in one transaction.

Idempotent: a household code already registered only gains the members it lacks; a member whose ID number
(keyed hash) is already in that household is skipped; one registered in another household is a row error.
Within a chunk the first row of a number wins: a later row of the same household with that number is another
person claiming it (as the API refuses two members with one number), a row error on every run.
A household has at most `MAX_MEMBERS` members, as through the API: the rows beyond are row errors.
Rows whose area code or head differ from the registered household's are row errors: the code names another
household than the file thinks, and its members must not be added to it.
Every new household publishes HouseholdRegistered, and every member written (with a new household or added to an
existing one) MemberAdded, its name and ID-card number masked, then the events of its facts, through outbox rows
written in the same transaction (made by `services.households.events.outbox_rows`; the relay is woken once per
chunk). The members written are then checked against power holders and their relatives (优亲厚友) in one more
query, and each hit is kept and published in the same transaction (`conflicts.check_imported`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from operator import itemgetter
from typing import NamedTuple
from uuid import UUID

from asyncpg.exceptions import DeadlockDetectedError, IntegrityConstraintViolationError
from sqlalchemy import Uuid, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel, col

from services.households.domain import conflicts
from services.households.domain.imports.prepare import (
    PreparedMember,
    PreparedUnit,
    Row,
    addition,
    household_row,
    registration,
)
from services.households.domain.imports.rows import RowError
from services.households.events import outbox_rows
from services.households.models import HelperCadre, Household, HouseholdChange, Member
from services.households.rules.limits import MAX_MEMBERS
from services.households.rules.members import BLANK, fact_events, member_added
from services.households.rules.problems import helper_cadre
from shared.contracts import IntegrationEvent
from shared.contracts.accountability import ResponsiblePerson
from shared.db import one_of
from shared.messaging.outbox import WAKE_RELAYS, OutboxMessage

ELSEWHERE = "this ID-card number is already registered to another household"
NOT_THE_REGISTERED = "area_code and head_name differ from the registered household's"
TWICE_IN_HOUSEHOLD = "the ID-card number is already used by another row of this household"
TOO_MANY_MEMBERS = f"the household would have more than {MAX_MEMBERS} members"


class _Stored(NamedTuple):
    """A household already registered under a code of the chunk, with its helper cadre (帮扶责任人), if assigned:
    who answers for the problems its new members' facts show."""

    id: UUID
    area_code: str
    head_name: str
    cadre: ResponsiblePerson | None = None


class ChunkConflict(Exception):
    """A unique key of the chunk was taken meanwhile (a concurrent registration); nothing was written."""


@dataclass
class ChunkResult:
    """What one chunk did."""

    households_created: int = 0
    members_added: int = 0
    members_present: int = 0
    errors: list[RowError] = field(default_factory=list)

    def add(self, other: ChunkResult) -> None:
        self.households_created += other.households_created
        self.members_added += other.members_added
        self.members_present += other.members_present
        self.errors.extend(other.errors)


@dataclass
class _Plan:
    """The rows a chunk will insert, by table, and the events it will publish."""

    households: list[Row] = field(default_factory=list)
    members: list[Row] = field(default_factory=list)
    changes: list[Row] = field(default_factory=list)
    events: list[IntegrationEvent] = field(default_factory=list)


def merge(units: Sequence[PreparedUnit], errors: list[RowError]) -> list[PreparedUnit]:
    """One unit per household code (a household's rows may be split across the file)."""
    merged: dict[str, PreparedUnit] = {}
    for unit in units:
        first = merged.get(unit.code)
        if first is None:  # a copy: the units given stay as they are, so merging them again merges nothing twice
            merged[unit.code] = replace(unit, members=list(unit.members))
            continue
        if (first.area_code, first.head_name) != (unit.area_code, unit.head_name):
            errors.extend(
                RowError(m.line, "area_code", "differs from the household's earlier rows") for m in unit.members
            )
            continue
        for member in unit.members:
            member.row["household_id"] = first.household_id
            first.members.append(member)
    return list(merged.values())


class ChunkWriter:
    """Writes prepared units on a connection inside the caller's transaction, as registered by `actor` at `now`
    (on `today`, the district's day then)."""

    def __init__(self, actor: str, *, now: datetime, today: date) -> None:
        self.actor, self.now, self.today = actor, now, today

    async def write(self, conn: AsyncConnection, units: Sequence[PreparedUnit]) -> ChunkResult:
        if conn.dialect.name == "postgresql":
            # A bulk load need not wait for each chunk's WAL flush: a crash loses at most the last chunks,
            # with their outbox rows, and running the import again (idempotent) writes them.
            await conn.execute(text("SET LOCAL synchronous_commit = off"))
        result = ChunkResult()
        merged = merge(units, result.errors)
        existing = await self._existing_households(conn, [u.code for u in merged])
        owners = await self._hash_owners(conn, [m.keyed_hash for u in merged for m in u.members])
        counts = await self._member_counts(conn, [s.id for s in existing.values()])
        plan = _Plan()
        for unit in merged:
            stored = existing.get(unit.code)
            if stored is not None and (stored.area_code, stored.head_name) != (unit.area_code, unit.head_name):
                result.errors.extend(RowError(m.line, "area_code", NOT_THE_REGISTERED) for m in unit.members)
                continue
            fresh = self._fresh_members(unit, owners, result)
            room = max(MAX_MEMBERS - (counts.get(stored.id, 0) if stored else 0), 0)
            if len(fresh) > room:
                result.errors.extend(RowError(m.line, "", TOO_MANY_MEMBERS) for m in fresh[room:])
                fresh = fresh[:room]
            if fresh:
                self._plan_unit(unit, stored, fresh, plan)
                result.members_added += len(fresh)
                result.households_created += unit.code not in existing
        await self._insert(conn, plan)
        # 优亲厚友: the chunk's new members against power holders and their relatives, in one query.
        hashes = [m["id_hash"] for m in plan.members if m.get("id_hash")]
        await conflicts.check_imported(conn, hashes, now=self.now, today=self.today)
        return result

    async def _existing_households(self, conn: AsyncConnection, codes: list[str]) -> dict[str, _Stored]:
        """The registered households of these codes, with their helper cadres, in one query."""
        stmt = (
            select(
                col(Household.household_code),
                col(Household.id),
                col(Household.area_code),
                col(Household.head_name),
                col(HelperCadre.subject),
                col(HelperCadre.name),
                col(HelperCadre.unit),
            )
            .outerjoin(HelperCadre, col(HelperCadre.id) == col(Household.helper_cadre_id))
            .where(one_of(conn.dialect, col(Household.household_code), codes))
        )
        rows = (await conn.execute(stmt)).tuples().all()
        return {
            code: _Stored(id_, area, head, helper_cadre(subject, name, unit) if subject else None)
            for code, id_, area, head, subject, name, unit in rows
        }

    async def _member_counts(self, conn: AsyncConnection, household_ids: list[UUID]) -> dict[UUID, int]:
        """How many members each of the registered households has."""
        if not household_ids:
            return {}
        stmt = (
            select(col(Member.household_id), func.count())
            .where(one_of(conn.dialect, col(Member.household_id), household_ids, Uuid))
            .group_by(col(Member.household_id))
        )
        return {hid: n for hid, n in (await conn.execute(stmt)).tuples().all()}

    async def _hash_owners(self, conn: AsyncConnection, hashes: list[str]) -> dict[str, str]:
        """The code of the household each known ID-number hash belongs to. Owners are told by code, read in this
        one statement: a household committed by another import after the household look-up is then still
        recognised as the one its members belong to, not as another household."""
        stmt = (
            select(col(Member.id_hash), col(Household.household_code))
            .join(Household, col(Household.id) == col(Member.household_id))
            .where(one_of(conn.dialect, col(Member.id_hash), hashes))
        )
        return {h: code for h, code in (await conn.execute(stmt)).tuples().all() if h is not None}

    @staticmethod
    def _fresh_members(unit: PreparedUnit, owners: dict[str, str], result: ChunkResult) -> list[PreparedMember]:
        """The unit's members to insert; `owners` (household code by hash) gains them. A unit holds all the chunk's
        rows of its household (see `merge`), so the numbers its earlier rows claimed tell a row repeating one from
        the member a re-run finds stored: the stored member is present, the repeating row an error on every run."""
        fresh, claimed = [], set()
        for member in unit.members:
            owner = owners.get(member.keyed_hash)
            if owner == unit.code and member.keyed_hash in claimed:
                result.errors.append(RowError(member.line, "id_number", TWICE_IN_HOUSEHOLD))
            elif owner == unit.code:
                result.members_present += 1
            elif owner is not None:
                result.errors.append(RowError(member.line, "id_number", ELSEWHERE))
            else:
                owners[member.keyed_hash] = unit.code
                fresh.append(member)
            claimed.add(member.keyed_hash)
        return fresh

    def _plan_unit(self, unit: PreparedUnit, stored: _Stored | None, fresh: list[PreparedMember], plan: _Plan) -> None:
        existing = stored.id if stored else None
        if existing is None:
            plan.households.append(household_row(unit, self.now))
            change, registered = registration(unit, len(fresh), actor=self.actor, now=self.now)
            plan.changes.append(change)
            plan.events.append(registered)
        household_id = existing or unit.household_id
        for member in fresh:  # what the API publishes: the member (masked), facts, and a dropout as a problem
            member.row["household_id"] = household_id
            plan.members.append(member.row)
            if existing is None:
                plan.events.append(member_added(household_id, member.row))
            else:
                change, added = addition(existing, member.row, actor=self.actor, now=self.now)
                plan.changes.append(change)
                plan.events.append(added)
            cadre = stored.cadre if stored else None  # a new household has no helper cadre yet
            plan.events.extend(
                fact_events(
                    household_id, unit.area_code, member.row, BLANK, actor=self.actor, on=self.today, responsible=cadre
                )
            )

    async def _insert(self, conn: AsyncConnection, plan: _Plan) -> None:
        postgres = conn.dialect.name == "postgresql"
        try:
            for entity, rows in (
                (Household, plan.households),
                (Member, plan.members),
                (HouseholdChange, plan.changes),
                (OutboxMessage, outbox_rows(plan.events, now=self.now)),
            ):
                if rows and postgres:
                    await _copy(conn, entity, rows)
                elif rows:
                    await conn.execute(insert(entity), rows)
        except (IntegrityError, IntegrityConstraintViolationError, DeadlockDetectedError) as exc:
            # A deadlock: two chunks each waiting for a key the other inserted; PostgreSQL aborted this one.
            raise ChunkConflict from exc
        if plan.events and postgres:
            await conn.execute(WAKE_RELAYS)


async def _copy(conn: AsyncConnection, entity: type[SQLModel], rows: list[Row]) -> None:
    """PostgreSQL COPY of `rows` into the entity's table, in the connection's open transaction."""
    table = SQLModel.metadata.tables[str(entity.__tablename__)]
    columns = list(rows[0])
    record = itemgetter(*columns)  # every table has several columns, so each record is a tuple
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    await driver.copy_records_to_table(table.name, records=[record(row) for row in rows], columns=columns)

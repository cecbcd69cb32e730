"""Members (家庭成员) and their facts: disability, chronic disease, schooling, labour, medical cover.

Every change is diffed into the history and published; the facts other services decide from get their own
events, a dropout is a problem for audit, and a newly certified disability flags relapse risk.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.domain import conflicts, history, idnumbers, monitoring, problems
from services.households.events import publish
from services.households.models import Household, Member
from services.households.rules.dates import ensure_happened
from services.households.rules.idcard import IdCardVault
from services.households.rules.limits import MAX_MEMBERS
from services.households.rules.members import (
    BLANK,
    DISABILITY,
    EDITABLE,
    FACTS,
    REQUIRED,
    dates_of,
    fact_errors,
    fact_events,
    facts_changed,
    member_added,
)
from services.households.rules.monitoring import disability_is_new
from shared.contracts.households import MemberUpdated, RiskKind
from shared.errors import InvalidInput, RuleViolation
from shared.ids import uuid7


async def member_count(session: AsyncSession, household_id: UUID) -> int:
    stmt = select(func.count()).select_from(Member).where(col(Member.household_id) == household_id)
    return int(await session.scalar(stmt) or 0)


async def ensure_room_for_member(session: AsyncSession, household: Household) -> None:
    """RuleViolation (409) when the household already has `MAX_MEMBERS` members."""
    if await member_count(session, household.id) >= MAX_MEMBERS:
        raise RuleViolation(f"A household has at most {MAX_MEMBERS} members; this one has that many already.")


def snapshot(member: Member) -> dict[str, Any]:
    """The member's editable facts, with the ID number only in its masked form."""
    return {**{k: getattr(member, k) for k in EDITABLE}, "id_number": member.id_masked}


def _ensure_consistent(member: Member) -> None:
    errors = fact_errors(snapshot(member))
    if errors:
        raise InvalidInput("The member's facts contradict each other: " + "; ".join(errors) + ".")


def build_member(household_id: Any, values: Mapping[str, Any], vault: IdCardVault) -> Member:
    """A new member from validated values (`id_number` a canonical number or None); not yet added."""
    fields = {k: values[k] for k in EDITABLE if k in values}
    member = Member(id=uuid7(), household_id=household_id, **fields)
    _ensure_consistent(member)
    number = values.get("id_number")
    if number:
        idnumbers.check_birth_date(number, member.birth_date)
        idnumbers.seal_into(member, number, vault)
    return member


async def add_member(
    session: AsyncSession,
    household: Household,
    values: Mapping[str, Any],
    *,
    actor: str,
    vault: IdCardVault,
    now: datetime,
    today: date,
) -> Member:
    """Add a member to a registered household at `now` (on `today`, the district's day then); the caller holds
    the household locked. A household has at most `MAX_MEMBERS` members: one more is a RuleViolation (409)."""
    await ensure_room_for_member(session, household)
    ensure_happened(today, dates_of(values))
    member = build_member(household.id, values, vault)
    await idnumbers.ensure_free(session, [member.id_hash] if member.id_hash else [])
    session.add(member)
    await idnumbers.flush_checked(session)
    changes = {"member_id": member.id}
    history.note(session, household.id, actor=actor, action="member.added", changes=changes, now=now)
    publish(session, member_added(household.id, member.model_dump()))
    await publish_facts(session, household, member, BLANK, actor=actor, now=now, today=today, new_member=True)
    await conflicts.check_members(session, [member.id_hash] if member.id_hash else [], now=now, today=today)
    # One more mouth on the same income: the per-capita income may now be under line + margin.
    await monitoring.check_income(session, household, year=today.year, now=now, today=today, actor=actor)
    return member


async def change_member(
    session: AsyncSession,
    household: Household,
    member: Member,
    changes: Mapping[str, Any],
    *,
    actor: str,
    vault: IdCardVault,
    now: datetime,
    today: date,
) -> list[str]:
    """Apply `changes` (field -> value; `id_number` canonical); returns the names of the fields that changed."""
    ensure_happened(today, dates_of(changes))
    cleared = [k for k in REQUIRED if k in changes and changes[k] is None]
    if cleared:
        raise InvalidInput("These member fields cannot be cleared: " + ", ".join(cleared) + ".")
    before = snapshot(member)
    for key in EDITABLE:
        if key in changes:
            setattr(member, key, changes[key])
    _ensure_consistent(member)
    renumbered = await _apply_id_number(
        session, member, changes.get("id_number"), birth_changed="birth_date" in changes, vault=vault
    )
    diff = history.diff(before, snapshot(member))
    if renumbered and "id_number" not in diff:
        diff["id_number"] = [before["id_number"], member.id_masked]  # same masked digits, another number
    if not diff:
        return []
    session.add(member)
    await idnumbers.flush_checked(session)
    changes = {"member_id": member.id, **diff}
    history.note(session, household.id, actor=actor, action="member.updated", changes=changes, now=now)
    publish(session, MemberUpdated(household_id=household.id, member_id=member.id, changed=sorted(diff)))
    await publish_facts(session, household, member, before, actor=actor, now=now, today=today)
    if renumbered and member.id_hash:  # another number, perhaps a power holder's or a relative's
        await conflicts.check_members(session, [member.id_hash], now=now, today=today)
    return sorted(diff)


async def _apply_id_number(
    session: AsyncSession, member: Member, number: str | None, *, birth_changed: bool, vault: IdCardVault
) -> bool:
    """Seal a new number (it must carry the member's birth date and be free); True when the number changed.
    Without a new number, a changed birth date is checked against the stored one."""
    if number is None:
        if birth_changed and member.id_kid and member.id_ciphertext:
            stored = vault.open(member.id_kid, member.id_ciphertext, member_id=member.id)
            idnumbers.check_birth_date(stored, member.birth_date)
        return False
    idnumbers.check_birth_date(number, member.birth_date)
    if vault.keyed_hash(number) == member.id_hash:
        return False
    await idnumbers.ensure_free(session, [vault.keyed_hash(number)], except_member=member.id)
    idnumbers.seal_into(member, number, vault)
    return True


async def publish_facts(
    session: AsyncSession,
    household: Household,
    member: Member,
    before: Mapping[str, Any],
    *,
    actor: str,
    now: datetime,
    today: date,
    new_member: bool = False,
) -> None:
    """Record the events (and problems) that follow from facts changed since `before`; a newly certified
    disability of an existing member also flags relapse risk (a new member's is not a change in the household)."""
    facts = facts_of(member)
    cadre = await problems.responsible_for(session, household)
    events = fact_events(household.id, household.area_code, facts, before, actor=actor, on=today, responsible=cadre)
    for event in events:
        publish(session, event)
    if new_member or not (facts_changed(before, facts, DISABILITY) and member.disability_type):
        return
    if disability_is_new(before.get("disability_type"), member.disability_type):
        detail = f"A member was newly certified disabled ({member.disability_type}, grade {member.disability_grade})."
        kind = RiskKind.NEW_DISABILITY
        await monitoring.raise_flag(
            session, household, kind=kind, detail=detail, on=today, now=now, today=today, actor=actor
        )


def facts_of(member: Member) -> dict[str, Any]:
    """The member's facts (and id and birth date) as `fact_events` reads them."""
    return {**{k: getattr(member, k) for k in FACTS}, "id": member.id, "birth_date": member.birth_date}

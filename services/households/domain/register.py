"""The household register (建档立卡): registration, changes to the household itself, lists and search."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.domain import cadres, conflicts, history, idnumbers, members, reads
from services.households.domain.access import can_access, is_helper_only, scope_clauses, scope_parameters
from services.households.domain.assessment import living_on
from services.households.events import publish
from services.households.models import Household, Member, MonitoringEpisode, RiskFlag
from services.households.rules.dates import CODE, DETAIL, ensure_happened
from services.households.rules.guarantees import SCHOOL_AGE_FROM, SCHOOL_AGE_TO
from services.households.rules.idcard import InvalidIdNumber, check_born_by
from services.households.rules.members import BLANK, dates_of, member_added
from services.households.rules.vocabulary import SAFE_GRADES, Enrolment
from services.households.settings import HouseholdsConfig
from shared.auth import Principal
from shared.contracts.households import HouseholdRegistered, HouseholdUpdated
from shared.db import read_rows
from shared.errors import Conflict, InvalidInput


async def register_household(
    session: AsyncSession,
    *,
    code: str,
    area_code: str,
    head_name: str,
    member_values: Sequence[Mapping[str, Any]],
    actor: Principal,
    config: HouseholdsConfig,
    now: datetime,
    today: date,
) -> Household:
    """Enter a household and its members in the register (建档立卡) at `now`; ID numbers must be new to it."""
    dated: dict[str, date | None] = {}
    for i, values in enumerate(member_values):
        dated.update(dates_of(values, f"members.{i}."))
    ensure_happened(today, dated)
    config.ensure_known_area(area_code)
    actor.ensure_reach(area_code)
    household = Household(household_code=code, area_code=area_code, head_name=head_name, registered_at=now)
    built = [members.build_member(household.id, v, config.vault) for v in member_values]
    await _insert_new(session, household, built)
    changes = {"household_code": code, "area_code": area_code, "members": len(built)}
    history.note(session, household.id, actor=actor.subject, action="household.registered", changes=changes, now=now)
    registered = HouseholdRegistered(
        household_id=household.id, household_code=code, area_code=area_code, member_count=len(built)
    )
    publish(session, registered)
    for member in built:
        publish(session, member_added(household.id, member.model_dump()))
        await members.publish_facts(
            session, household, member, BLANK, actor=actor.subject, now=now, today=today, new_member=True
        )
    await conflicts.check_members(session, [m.id_hash for m in built if m.id_hash], now=now, today=today)
    return household


async def _insert_new(session: AsyncSession, household: Household, built: list[Member]) -> None:
    """Insert the household and its members; a taken household code or ID number is a 409.

    The code is checked first: whether a number is registered anywhere in the district is answered only to a
    registration that would otherwise succeed (and so be recorded), never to a probe under a code already taken.
    """
    hashes = [m.id_hash for m in built if m.id_hash]
    if len(hashes) != len(set(hashes)):
        raise InvalidInput("Two members of the request have the same ID-card number.")
    session.add(household)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("A household with this household code already exists.") from exc
    await idnumbers.ensure_free(session, hashes)
    session.add_all(built)
    await idnumbers.flush_checked(session)


async def update_household(
    session: AsyncSession,
    household: Household,
    changes: Mapping[str, Any],
    *,
    actor: Principal,
    config: HouseholdsConfig,
    now: datetime,
) -> list[str]:
    """Change the head's name or move the household to another village (both areas within the actor's reach)."""
    cleared = [k for k in ("head_name", "area_code") if k in changes and changes[k] is None]
    if cleared:
        raise InvalidInput("These household fields cannot be cleared: " + ", ".join(cleared) + ".")
    if "area_code" in changes:
        config.ensure_known_area(changes["area_code"])
        actor.ensure_reach(changes["area_code"])
    before = {"head_name": household.head_name, "area_code": household.area_code}
    for key in before:
        if key in changes:
            setattr(household, key, changes[key])
    changed = history.diff(before, {"head_name": household.head_name, "area_code": household.area_code})
    if changed:
        session.add(household)
        history.note(session, household.id, actor=actor.subject, action="household.updated", changes=changed, now=now)
        publish(
            session, HouseholdUpdated(household_id=household.id, area_code=household.area_code, changed=sorted(changed))
        )
    if "area_code" in changed:
        await cadres.release_if_moved_away(session, household, actor=actor.subject, now=now)
    return sorted(changed)


async def search_by_id_number(
    session: AsyncSession, number: str, *, actor: Principal, config: HouseholdsConfig, today: date
) -> Household | None:
    """The household holding this ID number, if the actor may reach it (otherwise None, not an error)."""
    _ensure_born_by(number, today)
    for member in await idnumbers.find_members(session, number, config.vault):
        household = await session.get(Household, member.household_id)
        if household is not None and await can_access(session, household, actor):
            return household
    return None


def _ensure_born_by(number: str, today: date) -> None:
    """A number born after today is refused as the request's validation refuses any other invalid number."""
    try:
        check_born_by(number, today)
    except InvalidIdNumber as exc:
        errors = [{"field": "body.id_number", "message": str(exc), "code": CODE}]
        raise InvalidInput(DETAIL, errors=errors) from None


@dataclass(frozen=True)
class HouseholdFilter:
    """List filters: area, status, risk (monitoring) and policy flags, guarantee gaps."""

    area_code: str | None = None
    status: str | None = None
    under_monitoring: bool | None = None
    risk_flag: str | None = None
    minimum_allowance: str | None = None
    policy: str | None = None
    gap: str | None = None


def _member_exists(today: date, *conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """A member alive today meets `conditions` (a member whose death is recorded is kept, but no longer counts)."""
    return exists().where(col(Member.household_id) == col(Household.id), living_on(today), *conditions)


def _years_before(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February in a common year
        return today.replace(year=today.year - years, day=28)


def _school_age_window(today: date) -> tuple[date, date]:
    """Birth dates (exclusive, inclusive) of members of compulsory-school age today."""
    return _years_before(today, SCHOOL_AGE_TO + 1), _years_before(today, SCHOOL_AGE_FROM)


def _policy_clause(policy: str, today: date) -> ColumnElement[bool]:
    clauses: dict[str, ColumnElement[bool]] = {
        "disability": _member_exists(today, col(Member.disability_type).is_not(None)),
        "chronic_disease": _member_exists(today, col(Member.chronic_disease_approved_on).is_not(None)),
        "student": _member_exists(today, col(Member.enrolment) == Enrolment.ENROLLED),
        "premium_subsidised": _member_exists(today, col(Member.premium_subsidised).is_(True)),
    }
    return clauses[policy]


def gap_clause(gap: str, today: date) -> ColumnElement[bool]:
    oldest, youngest = _school_age_window(today)
    clauses: dict[str, ColumnElement[bool]] = {
        "housing": or_(col(Household.housing_grade).is_(None), col(Household.housing_grade).not_in(SAFE_GRADES)),
        "water": or_(col(Household.water_safe).is_(None), col(Household.water_safe).is_(False)),
        "medical": _member_exists(today, col(Member.medical_insured).is_(False)),
        "schooling": _member_exists(
            today,
            col(Member.birth_date) > oldest,
            col(Member.birth_date) <= youngest,
            or_(col(Member.enrolment).is_(None), col(Member.enrolment) == Enrolment.DROPPED_OUT),
        ),
    }
    return clauses[gap]


def _filtered(stmt: Select[Any], f: HouseholdFilter, today: date) -> Select[Any]:
    # Each value a client chooses is a named parameter (`_list_parameters`): the statement is the same for every
    # value, so a list statement is built once per shape (`_list_statement`), not on every request.
    episode_open = exists().where(
        col(MonitoringEpisode.household_id) == col(Household.id), col(MonitoringEpisode.status) == "open"
    )
    if f.area_code:
        stmt = stmt.where(col(Household.area_code).startswith(bindparam("area_code", f.area_code)))
    if f.status:
        stmt = stmt.where(col(Household.status) == bindparam("status", f.status))
    if f.under_monitoring is not None:
        stmt = stmt.where(episode_open if f.under_monitoring else ~episode_open)
    if f.risk_flag:
        stmt = stmt.where(
            exists().where(
                col(RiskFlag.household_id) == col(Household.id),
                col(RiskFlag.kind) == bindparam("risk_flag", f.risk_flag),
                col(RiskFlag.episode_id).in_(
                    select(col(MonitoringEpisode.id)).where(col(MonitoringEpisode.status) == "open")
                ),
            )
        )
    if f.minimum_allowance:
        stmt = stmt.where(col(Household.minimum_allowance) == bindparam("minimum_allowance", f.minimum_allowance))
    if f.policy:
        stmt = stmt.where(_policy_clause(f.policy, today))
    if f.gap:
        stmt = stmt.where(gap_clause(f.gap, today))
    return stmt


async def list_households(
    session: AsyncSession,
    f: HouseholdFilter,
    columns: tuple[str, ...],
    member_columns: tuple[str, ...],
    *,
    actor: Principal,
    after_code: str | None,
    limit: int,
    today: date,
) -> list[reads.HouseholdRows]:
    """The named columns of up to `limit` households in household-code order after `after_code`, within the actor's
    reach, with their members' (rows, not objects, in one statement: what a list page shows)."""
    if f.area_code and actor.is_area_scoped:
        actor.ensure_reach(f.area_code)
    shape = _ListShape(
        columns=columns,
        member_columns=member_columns,
        filters=(bool(f.area_code), bool(f.status), f.under_monitoring, bool(f.risk_flag), bool(f.minimum_allowance)),
        policy=f.policy,
        gap=f.gap,
        scoped=actor.is_area_scoped,
        helper_only=is_helper_only(actor),
        after=after_code is not None,
        limit=limit,
        today=today,
    )
    statement = _list_statement(shape, f, actor, after_code)
    parameters = {**vars(f), **scope_parameters(actor), "after_code": after_code}
    return reads.households_of(await read_rows(session, statement, parameters), len(columns))


@dataclass(frozen=True)
class _ListShape:
    """What a list statement is made of besides its parameters' values."""

    columns: tuple[str, ...]
    member_columns: tuple[str, ...]
    filters: tuple[bool | None, ...]  # whether each filter taking a value has one (its value is a parameter)
    policy: str | None  # policy and gap name a clause of their own
    gap: str | None
    scoped: bool
    helper_only: bool
    after: bool
    limit: int
    today: date  # the clauses of living members and school age compare with dates of today


_LIST_STATEMENTS: dict[_ListShape, Select[Any]] = {}
_MAX_LIST_STATEMENTS = 512  # shapes x days: more are built per request, as before


def _list_statement(shape: _ListShape, f: HouseholdFilter, actor: Principal, after_code: str | None) -> Select[Any]:
    statement = _LIST_STATEMENTS.get(shape)
    if statement is None:
        columns = (getattr(Household, c) for c in shape.columns)
        statement = _filtered(select(*columns).where(*scope_clauses(actor)), f, shape.today)
        if after_code is not None:
            statement = statement.where(col(Household.household_code) > bindparam("after_code", after_code))
        page = statement.order_by(col(Household.household_code)).limit(shape.limit)
        statement = reads.page_with_members(page, shape.member_columns)
        if len(_LIST_STATEMENTS) < _MAX_LIST_STATEMENTS:
            _LIST_STATEMENTS[shape] = statement
    return statement

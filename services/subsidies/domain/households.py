"""What subsidies keeps of the household register (建档立卡户), from `households.events`: the households and their
members, and the dated history of the facts eligibility rules read (`FactChange`, see `rules/fact_history.py`).

Every change is kept at its day: one re-sent (under a new event id) changes nothing, and one dated before changes
already kept takes its place among them, so a period is judged by the facts of its first day whatever order the
events came in. The household's and member's own columns keep the latest values, for reading. A household's events
follow its registration: one that arrives first is NotFound (retried, then dead-lettered).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.subsidies.models import FactChange, HouseholdFacts, MemberFacts
from services.subsidies.rules import fact_history as history
from services.subsidies.rules.vocabulary import holder_key
from shared.errors import NotFound

# The member's column keeping each dated member fact's latest value.
MEMBER_COLUMNS = {
    history.DISABILITY_GRADE: "disability_grade",
    history.ENROLMENT: "enrolment",
    history.SCHOOL_STAGE: "school_stage",
    history.MEDICAL_INSURED: "medical_insured",
    history.PREMIUM_SUBSIDISED: "premium_subsidised",
}


async def note_household(
    session: AsyncSession, *, household_id: UUID, area_code: str, member_count: int, now: datetime
) -> None:
    """Keep a registered household's area and members."""
    if await session.get(HouseholdFacts, household_id) is not None:
        return  # a registration re-sent: the moves and members since are this household's facts, not the first ones
    session.add(
        HouseholdFacts(household_id=household_id, area_code=area_code, member_count=member_count, updated_at=now)
    )


async def move_household(session: AsyncSession, *, household_id: UUID, area_code: str, now: datetime) -> None:
    """The household moved to another village (HouseholdUpdated carries its area whatever changed)."""
    household = await known_household(session, household_id)
    if household.area_code != area_code:
        household.area_code, household.updated_at = area_code, now


async def change_status(
    session: AsyncSession, *, household_id: UUID, previous: str, status: str, since: date, now: datetime
) -> None:
    """脱贫状态 changed from `previous` to `status` on `since`.

    A second change of the same day counts when it follows from the first (its `previous` is the first's status);
    otherwise it is the first re-sent after being superseded. The earliest change known also tells the status before
    it (`previous`, held from ever before) until an earlier change is known.
    """
    household = await known_household(session, household_id)
    kept = await _series(session, household_id, history.HOUSEHOLD_KEY, history.STATUS)
    same_day = next((change for change in kept if change.since == since), None)
    if same_day is not None and same_day.value not in (previous, status):
        return
    series = await _record(session, household_id, None, history.STATUS, status, since, now)
    if not any(history.SINCE_EVER < change.since < since for change in series):
        series = await _record(session, household_id, None, history.STATUS, previous, history.SINCE_EVER, now)
    latest, before = _last_two(series)
    household.status, household.status_since = str(latest.value), _dated(latest.since)
    household.previous_status, household.updated_at = _value(before), now


async def change_allowance(
    session: AsyncSession, *, household_id: UUID, allowance: str, since: date, now: datetime
) -> None:
    """低保 / 特困供养 status changed on `since` (a second change of the same day replaces the first)."""
    household = await known_household(session, household_id)
    series = await _record(session, household_id, None, history.ALLOWANCE, allowance, since, now)
    latest, before = _last_two(series)
    household.allowance, household.allowance_since = str(latest.value), _dated(latest.since)
    household.previous_allowance, household.updated_at = _value(before), now


async def grade_housing(session: AsyncSession, *, household_id: UUID, grade: str, on: date, now: datetime) -> None:
    """A housing-safety appraisal graded the house on `on` (住房安全鉴定: A-D; a renovated house is graded again)."""
    household = await known_household(session, household_id)
    series = await _record(session, household_id, None, history.HOUSING_GRADE, grade, on, now)
    household.housing_grade, household.updated_at = str(series[-1].value), now


async def open_episode(session: AsyncSession, *, household_id: UUID, episode_id: UUID, on: date, now: datetime) -> None:
    """A relapse-risk monitoring episode opened on `on` (防返贫监测)."""
    household = await known_household(session, household_id)
    await _record(session, household_id, None, history.episode_fact(episode_id), True, on, now)
    await _monitoring_now(session, household, now)


async def raise_flag(
    session: AsyncSession, *, household_id: UUID, episode_id: UUID, kind: str, on: date, now: datetime
) -> None:
    """Monitoring flagged the household on `on`: the flag counts while its episode is open. A flag known before
    its episode's opening opens the episode on the flag's day."""
    household = await known_household(session, household_id)
    await _record(session, household_id, None, history.flag_fact(episode_id, kind), True, on, now)
    episode = await _series(session, household_id, history.HOUSEHOLD_KEY, history.episode_fact(episode_id))
    if not any(change.since <= on for change in episode):
        await _record(session, household_id, None, history.episode_fact(episode_id), True, on, now)
    await _monitoring_now(session, household, now)


async def close_episode(
    session: AsyncSession, *, household_id: UUID, episode_id: UUID, on: date, now: datetime
) -> None:
    """The monitoring episode closed on `on` (risk eliminated, or relapsed): its flags no longer count from then.
    It also closes an episode kept from before episodes were told apart, if that one is open on the day."""
    household = await known_household(session, household_id)
    await _record(session, household_id, None, history.episode_fact(episode_id), False, on, now)
    earlier = history.episode_fact(history.EARLIER_EPISODE)
    if _value_on(await _series(session, household_id, history.HOUSEHOLD_KEY, earlier), on) is True:
        await _record(session, household_id, None, earlier, False, on, now)
    await _monitoring_now(session, household, now)


async def _monitoring_now(session: AsyncSession, household: HouseholdFacts, now: datetime) -> None:
    """The household's monitoring columns as its latest changes leave them."""
    rows = await session.execute(
        select(col(FactChange.fact), col(FactChange.value))
        .where(
            col(FactChange.household_id) == household.household_id,
            col(FactChange.holder_key) == history.HOUSEHOLD_KEY,
            or_(col(FactChange.fact).startswith(history.EPISODE), col(FactChange.fact).startswith(history.FLAG)),
        )
        .order_by(col(FactChange.since))
    )
    latest = {fact: value for fact, value in rows.all()}  # by day: the latest change of each fact last
    household.monitoring_open, household.risk_kinds = history.monitoring(latest)
    household.updated_at = now


async def add_member(
    session: AsyncSession,
    *,
    household_id: UUID,
    member_id: UUID,
    facts: dict[str, Any],
    now: datetime,
) -> None:
    """A member announced with the household's registration or added since: kept with their birth date,
    relationship and masked name and ID number (for the public notice, 公示).

    The registration counted its members and announces each of them after it: the household's living members are
    then at least those registered and at least those announced and not dead, so each member is counted once
    however often the event is re-sent.
    """
    household = await known_household(session, household_id)
    member = await session.get(MemberFacts, member_id)
    if member is None:
        member = MemberFacts(member_id=member_id, household_id=household_id)
        session.add(member)
        await session.flush([member])
        living = await session.scalar(
            select(func.count()).where(
                col(MemberFacts.household_id) == household_id, col(MemberFacts.died_on).is_(None)
            )
        )
        if (living or 0) > household.member_count:
            household.member_count, household.updated_at = int(living or 0), now
    for name, value in facts.items():
        setattr(member, name, value)


async def change_member(
    session: AsyncSession,
    *,
    household_id: UUID,
    member_id: UUID,
    facts: Mapping[str, object],
    on: date,
    now: datetime,
    undated: bool = False,
) -> None:
    """A member's facts (`MEMBER_COLUMNS`: disability, schooling, medical cover) changed on `on`, for a member
    registered with the household (not yet kept) as for one added since.

    `undated`: the event says what holds, not since when (schooling, medical cover; `on` is the day it was sent).
    The first value heard of such a fact is the member's as far back as subsidies knows them (`SINCE_EVER`), as the
    register states it when the member enters it; only later changes date from `on`.
    """
    await known_household(session, household_id)
    member = await _member(session, household_id, member_id)
    for fact, value in facts.items():
        first_since = history.SINCE_EVER if undated else None
        series = await _record(session, household_id, member_id, fact, value, on, now, first_since=first_since)
        setattr(member, MEMBER_COLUMNS[fact], series[-1].value)


async def member_died(
    session: AsyncSession, *, household_id: UUID, member_id: UUID, died_on: date, now: datetime
) -> None:
    """A member died (死亡注销): not living from the day after, so no longer counted among the household's living
    members; periods that began before then still count them."""
    household = await known_household(session, household_id)
    member = await _member(session, household_id, member_id)
    if member.died_on is None:
        household.member_count, household.updated_at = max(household.member_count - 1, 0), now
    member.died_on = died_on
    await _record(session, household_id, member_id, history.ALIVE, False, history.dead_from(died_on), now)


async def _member(session: AsyncSession, household_id: UUID, member_id: UUID) -> MemberFacts:
    member = await session.get(MemberFacts, member_id)
    if member is None:
        member = MemberFacts(member_id=member_id, household_id=household_id)
        session.add(member)
    return member


async def _series(session: AsyncSession, household_id: UUID, key: str, fact: str) -> list[FactChange]:
    """One holder's changes of one fact, by day."""
    rows = await session.scalars(
        select(FactChange)
        .where(
            col(FactChange.household_id) == household_id,
            col(FactChange.holder_key) == key,
            col(FactChange.fact) == fact,
        )
        .order_by(col(FactChange.since))
    )
    return list(rows.all())


async def _record(
    session: AsyncSession,
    household_id: UUID,
    member_id: UUID | None,
    fact: str,
    value: object,
    since: date,
    now: datetime,
    *,
    first_since: date | None = None,
) -> list[FactChange]:
    """Keep the holder's `fact` as `value` from `since` (a change of that day already kept is replaced; the first
    change of the fact from `first_since` when given); the fact's changes, by day, after it."""
    key = holder_key(member_id)
    series = await _series(session, household_id, key, fact)
    if not series and first_since is not None:
        since = first_since
    kept = next((change for change in series if change.since == since), None)
    if kept is None:
        kept = FactChange(
            household_id=household_id,
            holder_key=key,
            fact=fact,
            since=since,
            member_id=member_id,
            value=value,
            recorded_at=now,
        )
        session.add(kept)
        return sorted([*series, kept], key=lambda change: change.since)
    if kept.value != value:
        kept.value, kept.recorded_at = value, now
    return series


def _value_on(series: list[FactChange], day: date) -> object:
    return next((change.value for change in reversed(series) if change.since <= day), None)


def _last_two(series: list[FactChange]) -> tuple[FactChange, FactChange | None]:
    return series[-1], series[-2] if len(series) > 1 else None


def _value(change: FactChange | None) -> str | None:
    return None if change is None else str(change.value)


def _dated(since: date) -> date | None:
    """A change's day as the household's columns keep it: None for a value held from ever before."""
    return None if since <= history.SINCE_EVER else since


async def known_member_names(session: AsyncSession, household_id: UUID) -> dict[UUID, str | None]:
    """The household's members known to subsidies, with their names masked as a public notice shows them."""
    rows = await session.execute(
        select(col(MemberFacts.member_id), col(MemberFacts.name_masked)).where(
            col(MemberFacts.household_id) == household_id
        )
    )
    return {member_id: name for member_id, name in rows.all()}


async def known_household(session: AsyncSession, household_id: UUID) -> HouseholdFacts:
    """The registered household, or NotFound: its events must follow its registration (retried, then dead-lettered)."""
    household = await session.get(HouseholdFacts, household_id)
    if household is None:
        raise NotFound("A household event arrived for a household whose registration was never received.")
    return household

"""Relapse-risk monitoring (防止返贫监测): rules flag a household, a flag opens a monitoring episode, help
measures are taken, and the episode closes with a decision: risk eliminated (风险消除, with evidence) or
relapsed (返贫). Flags publish a HouseholdProblemFound (category income) so audit records a finding.
Episodes are read here too: a household's, or a page of them within the caller's reach.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.domain import history, lifecycle
from services.households.domain.access import scope_clauses
from services.households.domain.assessment import (
    income_by_household,
    income_total,
    living_by_household,
    member_facts,
    poverty_line,
)
from services.households.domain.problems import load_cadres, report_problem
from services.households.events import publish
from services.households.models import (
    Household,
    MonitoringEpisode,
    MonitoringMeasure,
    RiskFlag,
)
from services.households.rules import lifecycle as lifecycle_rules
from services.households.rules.dates import ensure_happened
from services.households.rules.guarantees import Line, members_counted_on, per_capita_fen
from services.households.rules.limits import MAX_EPISODE_MEASURES
from services.households.rules.monitoring import CLOSED, INCOME_WATCHED, OPEN, check_closing, income_flag_due
from shared.auth import Principal
from shared.contracts.households import (
    EpisodeDecision,
    HouseholdStatus,
    MonitoringEpisodeClosed,
    MonitoringEpisodeOpened,
    MonitoringMeasureTaken,
    ProblemCategory,
    RiskFlagRaised,
    RiskKind,
)
from shared.db import keyset
from shared.errors import InvalidInput, NotFound, RuleViolation


async def open_episode_of(session: AsyncSession, household_id: UUID) -> MonitoringEpisode | None:
    stmt = select(MonitoringEpisode).where(
        col(MonitoringEpisode.household_id) == household_id, col(MonitoringEpisode.status) == OPEN
    )
    return (await session.scalars(stmt)).first()


async def episode_for(session: AsyncSession, episode_id: UUID) -> MonitoringEpisode:
    """The episode as stored now: read again after the household is locked, it shows a close committed meanwhile."""
    episode = await session.get(MonitoringEpisode, episode_id, populate_existing=True)
    if episode is None:
        raise NotFound("No monitoring episode has this id.")
    return episode


async def _open_episode(
    session: AsyncSession, household: Household, *, on: date, now: datetime, today: date, actor: str
) -> MonitoringEpisode:
    episode = MonitoringEpisode(household_id=household.id, opened_on=on, status_before=household.status)
    session.add(episode)
    await session.flush()  # flags reference it, and the lifecycle asks whether one is open
    publish(
        session,
        MonitoringEpisodeOpened(
            household_id=household.id, episode_id=episode.id, area_code=household.area_code, opened_on=on
        ),
    )
    changes = {"episode_id": episode.id}
    history.note(session, household.id, actor=actor, action="monitoring.opened", changes=changes, now=now)
    if household.status in lifecycle_rules.EXITED:
        reason = lifecycle_rules.REASON_MONITORING_OPENED
        await lifecycle.transition(
            session, household, HouseholdStatus.MONITORED, reason=reason, actor=actor, on=on, now=now, today=today
        )
    return episode


async def raise_flag(
    session: AsyncSession,
    household: Household,
    *,
    kind: RiskKind,
    detail: str,
    on: date,
    now: datetime,
    today: date,
    actor: str,
    amount_fen: int | None = None,
) -> RiskFlag:
    """Flag the household on `on` (not after `today`), recorded at `now`: the open episode takes the flag (once per
    kind), or a new episode opens."""
    ensure_happened(today, {"raised_on": on})
    episode = await open_episode_of(session, household.id)
    if episode is None:
        episode = await _open_episode(session, household, on=on, now=now, today=today, actor=actor)
    else:
        same = select(RiskFlag).where(col(RiskFlag.episode_id) == episode.id, col(RiskFlag.kind) == kind)
        if (existing := (await session.scalars(same)).first()) is not None:
            return existing
    flag = RiskFlag(
        household_id=household.id,
        episode_id=episode.id,
        kind=kind,
        detail=detail,
        amount_fen=amount_fen,
        raised_on=on,
        raised_by=actor,
    )
    session.add(flag)
    await _announce_flag(session, household, flag, kind, now=now)
    return flag


async def _announce_flag(
    session: AsyncSession, household: Household, flag: RiskFlag, kind: RiskKind, *, now: datetime
) -> None:
    """History, RiskFlagRaised, and a HouseholdProblemFound (category income) so audit records a finding."""
    changes = {"kind": kind, "detail": flag.detail}
    history.note(session, household.id, actor=flag.raised_by, action="risk.flagged", changes=changes, now=now)
    publish(
        session,
        RiskFlagRaised(
            household_id=household.id,
            flag_id=flag.id,
            episode_id=flag.episode_id,
            area_code=household.area_code,
            kind=kind,
            raised_on=flag.raised_on,
        ),
    )
    await report_problem(
        session,
        household,
        category=ProblemCategory.INCOME,
        code=f"relapse_risk_{kind.value}",
        description=f"Relapse-risk monitoring flagged the household: {kind.value}.",
        found_on=flag.raised_on,
        found_by=flag.raised_by,
        problem_id=flag.id,
    )


async def per_capita_now(
    session: AsyncSession, household: Household, year: int, *, today: date
) -> tuple[int, Line | None]:
    members = len(await member_facts(session, household.id, on=members_counted_on(year, today)))
    return per_capita_fen(await income_total(session, household.id, year), members), await poverty_line(session, year)


async def check_income(
    session: AsyncSession, household: Household, *, year: int, now: datetime, today: date, actor: str
) -> RiskFlag | None:
    """Flag the household today if its per-capita income for `year` is under line + margin (and it is watched)."""
    per_capita, line = await per_capita_now(session, household, year, today=today)
    if not income_flag_due(HouseholdStatus(household.status), per_capita, line):
        return None
    assert line is not None  # income_flag_due is False without a line
    detail = f"Per-capita income {per_capita} fen for {year} is under line + margin {line.monitoring_threshold_fen}."
    kind = RiskKind.INCOME_BELOW_MARGIN
    return await raise_flag(
        session,
        household,
        kind=kind,
        detail=detail,
        on=today,
        now=now,
        today=today,
        actor=actor,
        amount_fen=per_capita,
    )


async def check_all_incomes(session: AsyncSession, *, year: int, now: datetime, today: date, actor: str) -> int:
    """After a year's line or margin is set: flag every watched household whose per-capita income is now under
    line + margin. Candidates come from one query (income under threshold x members, no division); each is then
    judged as `check_income` judges one. Returns how many were flagged."""
    line = await poverty_line(session, year)
    if line is None:
        return 0
    income = income_by_household(year)
    members = living_by_household(members_counted_on(year, today))
    candidates = (
        select(Household)
        .outerjoin(income, income.c.household_id == Household.id)
        .outerjoin(members, members.c.household_id == Household.id)
        .where(
            col(Household.status).in_(INCOME_WATCHED),
            or_(
                func.coalesce(income.c.total, 0) < line.monitoring_threshold_fen * func.coalesce(members.c.n, 0),
                func.coalesce(members.c.n, 0) == 0,
            ),
        )
        .order_by(col(Household.id))
    )
    flagged = 0
    households = (await session.scalars(candidates)).all()
    await load_cadres(session, [h.helper_cadre_id for h in households if h.helper_cadre_id])  # one query for all
    for household in households:
        if await check_income(session, household, year=year, now=now, today=today, actor=actor) is not None:
            flagged += 1
    return flagged


async def add_measure(
    session: AsyncSession,
    household: Household,
    episode: MonitoringEpisode,
    *,
    kind: str,
    description: str,
    taken_on: date,
    now: datetime,
    today: date,
    actor: str,
) -> MonitoringMeasure:
    """Record a help measure (帮扶措施) in an open episode (the caller holds it locked); an episode takes at most
    `MAX_EPISODE_MEASURES`, one more is a RuleViolation (409)."""
    ensure_happened(today, {"taken_on": taken_on})
    if episode.status != OPEN:
        raise RuleViolation("The monitoring episode is closed.")
    if taken_on < episode.opened_on:
        raise InvalidInput("A measure cannot be taken before the episode opened.")
    taken = select(func.count()).select_from(MonitoringMeasure).where(col(MonitoringMeasure.episode_id) == episode.id)
    if int(await session.scalar(taken) or 0) >= MAX_EPISODE_MEASURES:
        raise RuleViolation(
            f"A monitoring episode takes at most {MAX_EPISODE_MEASURES} measures; this one has that many already."
        )
    measure = MonitoringMeasure(
        episode_id=episode.id, kind=kind, description=description, taken_on=taken_on, recorded_by=actor
    )
    session.add(measure)
    history.note(session, household.id, actor=actor, action="monitoring.measure", changes={"kind": kind}, now=now)
    publish(
        session,
        MonitoringMeasureTaken(
            household_id=household.id, episode_id=episode.id, measure_id=measure.id, kind=kind, taken_on=taken_on
        ),
    )
    return measure


async def _income_risk_remains(
    session: AsyncSession, household: Household, episode: MonitoringEpisode, *, today: date
) -> bool:
    flagged = select(col(RiskFlag.id)).where(
        col(RiskFlag.episode_id) == episode.id, col(RiskFlag.kind) == RiskKind.INCOME_BELOW_MARGIN
    )
    if (await session.scalars(flagged)).first() is None:
        return False
    per_capita, line = await per_capita_now(session, household, today.year, today=today)
    return line is None or per_capita < line.monitoring_threshold_fen


async def close_episode(
    session: AsyncSession,
    household: Household,
    episode: MonitoringEpisode,
    *,
    decision: EpisodeDecision,
    evidence: str,
    closed_on: date,
    now: datetime,
    today: date,
    actor: str,
) -> None:
    """Close the episode; risk eliminated returns the household to its status before, relapse makes it relapsed."""
    ensure_happened(today, {"closed_on": closed_on})
    if episode.status != OPEN:
        raise RuleViolation("The monitoring episode is already closed.")
    if closed_on < episode.opened_on:
        raise InvalidInput("An episode cannot close before it opened.")
    measures = await session.scalar(
        select(func.count()).select_from(MonitoringMeasure).where(col(MonitoringMeasure.episode_id) == episode.id)
    )
    # This year's income, whatever the closing's date: a closing backdated into last year must not be judged on
    # last year's income (as for every status change, see lifecycle.transition).
    remains = await _income_risk_remains(session, household, episode, today=today)
    check_closing(decision, measure_count=int(measures or 0), income_risk_remains=remains)
    episode.status, episode.closed_on, episode.decision = CLOSED, closed_on, decision
    episode.evidence, episode.closed_by = evidence, actor
    session.add(episode)
    await session.flush()  # the lifecycle asks whether an episode is still open
    changes = {"decision": decision}
    history.note(session, household.id, actor=actor, action="monitoring.closed", changes=changes, now=now)
    publish(
        session,
        MonitoringEpisodeClosed(
            household_id=household.id, episode_id=episode.id, decision=decision, closed_on=closed_on
        ),
    )
    if decision is EpisodeDecision.RELAPSED:
        reason, target = lifecycle_rules.REASON_RELAPSED, HouseholdStatus.RELAPSED
    elif household.status == HouseholdStatus.MONITORED:
        reason, target = lifecycle_rules.REASON_RISK_ELIMINATED, HouseholdStatus(episode.status_before)
    else:
        return
    await lifecycle.transition(
        session, household, target, reason=reason, actor=actor, on=closed_on, now=now, today=today
    )


async def details(session: AsyncSession, episode: MonitoringEpisode) -> tuple[list[RiskFlag], list[MonitoringMeasure]]:
    """The episode's flags and measures, oldest first."""
    flags = await session.scalars(
        select(RiskFlag).where(col(RiskFlag.episode_id) == episode.id).order_by(col(RiskFlag.raised_on))
    )
    measures = await session.scalars(
        select(MonitoringMeasure)
        .where(col(MonitoringMeasure.episode_id) == episode.id)
        .order_by(col(MonitoringMeasure.taken_on))
    )
    return list(flags.all()), list(measures.all())


_EPISODE_ORDER = (col(MonitoringEpisode.opened_on), col(MonitoringEpisode.id))


async def episodes_of(
    session: AsyncSession, household_id: UUID, *, after: tuple[date, UUID] | None, limit: int
) -> list[MonitoringEpisode]:
    """Up to `limit` of the household's episodes in (opened_on, id) order after the cursor key."""
    stmt = select(MonitoringEpisode).where(col(MonitoringEpisode.household_id) == household_id)
    return list((await session.scalars(keyset(stmt, _EPISODE_ORDER, after, limit=limit))).all())


async def episodes_page(
    session: AsyncSession,
    *,
    actor: Principal,
    area_code: str | None,
    status: str | None,
    after: tuple[date, UUID] | None,
    limit: int,
) -> list[MonitoringEpisode]:
    """Episodes in (opened_on, id) order after the cursor key, within the actor's reach."""
    if area_code and actor.is_area_scoped:
        actor.ensure_reach(area_code)
    stmt = (
        select(MonitoringEpisode)
        .join(Household, col(Household.id) == col(MonitoringEpisode.household_id))
        .where(*scope_clauses(actor))
    )
    if area_code:
        stmt = stmt.where(col(Household.area_code).startswith(area_code))
    if status:
        stmt = stmt.where(col(MonitoringEpisode.status) == status)
    return list((await session.scalars(keyset(stmt, _EPISODE_ORDER, after, limit=limit))).all())

"""The programme catalogue (政策目录) as versioned data: programmes, their standards over time, their funds.

A version is never changed: a new standard is a new version from a later day, so the versions are the change
history, and every entitlement and payment names the version it used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.subsidies.models import Cycle, Payment, Programme, ProgrammeFund, ProgrammeVersion
from services.subsidies.rules.eligibility import validate_rule
from services.subsidies.rules.periods import check_period, period_span
from services.subsidies.rules.vocabulary import CycleStatus, DecidedBy, Frequency, PaymentStatus, ProgrammeUnit
from services.subsidies.schemas.programmes import FundCreate, ProgrammeCreate, VersionCreate
from shared.auth import Principal
from shared.db import keyset
from shared.errors import Conflict, InvalidInput, NotFound

# The cycles whose totals are spent from the year's funds.
COMMITTED = (CycleStatus.APPROVED, CycleStatus.PAID, CycleStatus.CLOSED)


async def programme_in_force(
    session: AsyncSession, code: str, period: str, *, field: str = "body.policy_code", period_field: str = "body.period"
) -> tuple[Programme, ProgrammeVersion]:
    """The programme and the version in force on the period's first day.

    InvalidInput naming `field` for a code not in the catalogue (`unknown_policy`) or a programme projects decides
    (`decided_by_projects`: nothing is decided here by its rule); naming `period_field` for a period not written as
    the programme's frequency requires (`period_format`) or one no version covers (`no_version_in_force`).
    """
    programme = await catalogued(session, code, field=field)
    ensure_decided_here(programme, field=field)
    return programme, await version_for(session, programme, period, field=period_field)


def ensure_decided_here(programme: Programme, *, field: str) -> None:
    """InvalidInput naming `field` (`decided_by_projects`) for a programme whose holders and amounts projects decides
    (资产收益分配, 公益性岗位补贴): it is paid from projects' approved distribution plans and payrolls, each a cycle
    approved when it arrives, so no cycle of it is opened or computed here, no eligibility explained, no coverage
    checked, no leakage judged by its rule and nothing of it paid by hand."""
    if programme.decided_by != DecidedBy.CATALOGUE:
        raise InvalidInput(
            "This programme is paid from projects' approved distribution plans and payrolls: who is paid and how "
            "much is decided there, not by a rule of the catalogue.",
            errors=[{"field": field, "message": "decided by projects", "code": "decided_by_projects"}],
        )


async def catalogued(session: AsyncSession, code: str, *, field: str = "body.policy_code") -> Programme:
    """The programme, or InvalidInput naming `field`: a programme outside the catalogue has no rule to decide by,
    so nothing can be paid, listed or checked for it (never "0 entitled, 0 gaps")."""
    programme = await session.get(Programme, code)
    if programme is None:
        raise InvalidInput(
            "The programme is not in the catalogue (政策目录): it has no rule and no source of facts here.",
            errors=[{"field": field, "message": "not in the catalogue", "code": "unknown_policy"}],
        )
    return programme


async def version_for(
    session: AsyncSession, programme: Programme, period: str, *, field: str = "body.period"
) -> ProgrammeVersion:
    """The version in force on the first day of `period`, written as the programme's frequency requires
    (InvalidInput naming `field` otherwise, or when no version is in force then)."""
    frequency = Frequency(programme.frequency)
    check_period(period, frequency, field=field)
    version = await version_on(session, programme.code, period_span(period, frequency)[0])
    if version is None:
        raise InvalidInput(
            "No version of the programme is in force on the period's first day.",
            errors=[
                {
                    "field": field,
                    "message": "before the programme's first version",
                    "code": "no_version_in_force",
                }
            ],
        )
    return version


async def version_on(session: AsyncSession, code: str, day: date) -> ProgrammeVersion | None:
    """The programme's version in force on `day`: the latest to take effect on or before it."""
    rows = await session.scalars(
        select(ProgrammeVersion)
        .where(col(ProgrammeVersion.programme_code) == code, col(ProgrammeVersion.effective_from) <= day)
        .order_by(col(ProgrammeVersion.effective_from).desc(), col(ProgrammeVersion.version).desc())
        .limit(1)
    )
    return rows.first()


async def get_programme(session: AsyncSession, code: str) -> Programme:
    """A programme of the catalogue, or NotFound."""
    programme = await session.get(Programme, code)
    if programme is None:
        raise NotFound("No programme of the catalogue has this code.")
    return programme


async def create_programme(
    session: AsyncSession, data: ProgrammeCreate, *, actor: Principal, now: datetime
) -> tuple[Programme, ProgrammeVersion]:
    """Enter a programme in the catalogue with its first version; Conflict if its code is already there."""
    unit = ProgrammeUnit(data.unit)
    rule = _checked_rule(data, unit)
    if await session.get(Programme, data.code) is not None:
        raise Conflict("This programme is already in the catalogue: add a version to change its standard.")
    programme = Programme(
        code=data.code,
        name=data.name,
        unit=unit,
        frequency=data.frequency,
        funding_source=data.funding_source,
        created_by=actor.subject,
        created_at=now,
    )
    version = _version(programme.code, 1, data, rule, actor=actor, now=now)
    await _insert(session, [programme, version], "This programme was entered in the catalogue meanwhile.")
    return programme, version


async def add_version(
    session: AsyncSession, code: str, data: VersionCreate, *, actor: Principal, now: datetime
) -> ProgrammeVersion:
    """A new standard of the programme from `effective_from`, which must follow the latest version's and the first
    day of every cycle of the programme approved, paid or closed."""
    programme = await get_programme(session, code)
    if programme.decided_by != DecidedBy.CATALOGUE:
        raise Conflict(
            "This programme is paid from projects' approved distribution plans and payrolls: it has no standard to "
            "change here.",
            code="decided_by_projects",
        )
    rule = _checked_rule(data, ProgrammeUnit(programme.unit))
    # A version and an approval of the programme wait for each other: the approval locks the programme's row too.
    await session.execute(select(col(Programme.code)).where(col(Programme.code) == code).with_for_update())
    latest = await _latest_version(session, code)
    if latest is not None and data.effective_from <= latest.effective_from:
        raise InvalidInput(
            "A new standard takes effect after the latest one: versions are never rewritten.",
            errors=[
                {
                    "field": "body.effective_from",
                    "message": f"must be after {latest.effective_from.isoformat()}, the latest version's",
                    "code": "not_after_latest_version",
                }
            ],
        )
    await _ensure_after_approved_cycles(session, programme, data.effective_from)
    number = 1 if latest is None else latest.version + 1
    version = _version(code, number, data, rule, actor=actor, now=now)
    await _insert(session, [version], "Another version of this programme was added meanwhile.")
    return version


async def _ensure_after_approved_cycles(session: AsyncSession, programme: Programme, effective_from: date) -> None:
    """InvalidInput (`cycle_already_approved`, naming the cycle) for a standard taking effect on or before the first
    day of a cycle approved, paid or closed: the money was committed, or paid, by the standard in force then, and
    a back-dated one would re-price what was decided (an explanation, a leakage check)."""
    latest = (
        await session.execute(
            select(col(Cycle.id), col(Cycle.period), col(Cycle.status))
            .where(col(Cycle.programme_code) == programme.code, col(Cycle.status).in_(COMMITTED))
            .order_by(col(Cycle.period).desc())  # a programme's periods are all of one form: in order as text
            .limit(1)
        )
    ).first()
    if latest is None:
        return
    first_day = period_span(latest.period, Frequency(programme.frequency))[0]
    if effective_from <= first_day:
        raise InvalidInput(
            f"The cycle of {latest.period} ({latest.status}) was decided by the standard then in force: a new "
            "standard takes effect after its period's first day.",
            errors=[
                {
                    "field": "body.effective_from",
                    "message": f"must be after {first_day.isoformat()}, the first day of cycle {latest.id} "
                    f"({latest.period}, {latest.status})",
                    "code": "cycle_already_approved",
                }
            ],
            cycle_id=str(latest.id),
        )


def _checked_rule(data: VersionCreate, unit: ProgrammeUnit) -> list[dict[str, object]]:
    """The body's rule, validated for the programme's unit; a per-member amount only for a household's."""
    if data.per_member and unit is ProgrammeUnit.MEMBER:
        raise InvalidInput(
            "A member programme pays each entitled member: its amount cannot also be per member.",
            errors=[
                {"field": "body.per_member", "message": "only for a household programme", "code": "per_member_unit"}
            ],
        )
    return validate_rule([c.model_dump() for c in data.rule], unit)


def _version(
    code: str, number: int, data: VersionCreate, rule: list[dict[str, Any]], *, actor: Principal, now: datetime
) -> ProgrammeVersion:
    return ProgrammeVersion(
        programme_code=code,
        version=number,
        effective_from=data.effective_from,
        amount_fen=data.amount_fen,
        per_member=data.per_member,
        rule=rule,
        reason=data.reason,
        created_by=actor.subject,
        created_at=now,
    )


async def _insert(session: AsyncSession, rows: list[Any], conflict: str) -> None:
    """Insert in a savepoint: a concurrent insert of the same key is a Conflict, not a 500."""
    try:
        async with session.begin_nested():
            session.add_all(rows)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(conflict) from exc


async def _latest_version(session: AsyncSession, code: str) -> ProgrammeVersion | None:
    rows = await session.scalars(
        select(ProgrammeVersion)
        .where(col(ProgrammeVersion.programme_code) == code)
        .order_by(col(ProgrammeVersion.version).desc())
        .limit(1)
    )
    return rows.first()


async def list_programmes(
    session: AsyncSession,
    *,
    unit: ProgrammeUnit | None,
    frequency: Frequency | None,
    after: tuple[str] | None,
    limit: int,
) -> list[Programme]:
    """Programmes of the catalogue by code, optionally of one unit or frequency."""
    stmt = select(Programme)
    if unit is not None:
        stmt = stmt.where(col(Programme.unit) == unit)
    if frequency is not None:
        stmt = stmt.where(col(Programme.frequency) == frequency)
    return list((await session.scalars(keyset(stmt, (col(Programme.code),), after, limit=limit))).all())


async def decided_version(session: AsyncSession, code: str) -> ProgrammeVersion | None:
    """The one version of a programme projects decides, which the cycles of its plans and payrolls name: what they
    pay is the plan's or the payroll's, whatever the period."""
    return await _latest_version(session, code)


async def versions_in_force(session: AsyncSession, codes: list[str], day: date) -> dict[str, ProgrammeVersion]:
    """Each programme's version in force on `day` (none before its first), in one query."""
    rows = await session.scalars(
        select(ProgrammeVersion)
        .where(col(ProgrammeVersion.programme_code).in_(codes), col(ProgrammeVersion.effective_from) <= day)
        .order_by(col(ProgrammeVersion.effective_from), col(ProgrammeVersion.version))
    )
    return {v.programme_code: v for v in rows.all()}  # the last in order wins: the one in force


async def list_versions(
    session: AsyncSession, code: str, *, after: tuple[int] | None, limit: int
) -> list[ProgrammeVersion]:
    """The programme's versions, the newest first (NotFound for a code not in the catalogue)."""
    await get_programme(session, code)
    stmt = select(ProgrammeVersion).where(col(ProgrammeVersion.programme_code) == code)
    stmt = keyset(stmt, (col(ProgrammeVersion.version),), after, limit=limit, descending=True)
    return list((await session.scalars(stmt)).all())


async def record_fund(
    session: AsyncSession, code: str, data: FundCreate, *, actor: Principal, now: datetime
) -> ProgrammeFund:
    """Record money allocated to the programme for a year (资金下达)."""
    await get_programme(session, code)
    fund = ProgrammeFund(
        programme_code=code,
        year=data.year,
        amount_fen=data.amount_fen,
        source=data.source,
        recorded_by=actor.subject,
        recorded_at=now,
    )
    session.add(fund)
    await session.flush()
    return fund


@dataclass(frozen=True)
class YearFunds:
    """A programme's money for a year: allocated, and spent or committed from it."""

    allocated_fen: int
    cycles_fen: int  # totals of the year's cycles approved, paid or closed
    by_hand_fen: int  # payments of the year's periods recorded by hand, still paid

    @property
    def committed_fen(self) -> int:
        return self.cycles_fen + self.by_hand_fen

    @property
    def available_fen(self) -> int:
        return self.allocated_fen - self.committed_fen


async def fund_position(session: AsyncSession, code: str, year: int) -> YearFunds:
    """The year's allocations to the programme, the totals of its cycles approved, paid or closed that year, and
    what was paid by hand for that year's periods (outside any cycle, `entitlement_id` unset; a payment reversed or
    recovered no longer counts). A cycle's payments are in its total already."""
    of_year = f"{year:04d}"  # every period's form begins with its year
    allocated = await session.scalar(
        select(func.coalesce(func.sum(col(ProgrammeFund.amount_fen)), 0)).where(
            col(ProgrammeFund.programme_code) == code, col(ProgrammeFund.year) == year
        )
    )
    cycles = await session.scalar(
        select(func.coalesce(func.sum(col(Cycle.total_fen)), 0)).where(
            col(Cycle.programme_code) == code,
            col(Cycle.status).in_(COMMITTED),
            col(Cycle.period).startswith(of_year),
        )
    )
    by_hand = await session.scalar(
        select(func.coalesce(func.sum(col(Payment.amount_fen)), 0)).where(
            col(Payment.policy_code) == code,
            col(Payment.status) == PaymentStatus.PAID,
            col(Payment.entitlement_id).is_(None),
            col(Payment.period).startswith(of_year),
        )
    )
    return YearFunds(int(allocated or 0), int(cycles or 0), int(by_hand or 0))


async def funds_available(session: AsyncSession, code: str, year: int) -> int:
    """What is left of the programme's money for the year: allocated minus committed by approved cycles and paid by
    hand."""
    return (await fund_position(session, code, year)).available_fen

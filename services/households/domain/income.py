"""Income (家庭收入) per year and source, per-capita income (人均收入) and the poverty line per year.

The line and the relapse-monitoring margin are set by the district per year (the 2020 half-year report:
per-capita income above 4,500 yuan). Recording income re-checks relapse risk.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.domain import history, monitoring
from services.households.domain.assessment import income_total, member_facts
from services.households.events import publish
from services.households.models import Household, IncomeRecord, PovertyLine
from services.households.rules.guarantees import members_counted_on, per_capita_fen
from services.households.rules.limits import MAX_INCOME_RECORDS_PER_YEAR
from services.households.rules.vocabulary import IncomeSource
from shared.contracts.households import IncomeRecorded, PovertyLineSet
from shared.errors import InvalidInput, RuleViolation


async def set_poverty_line(
    session: AsyncSession, *, year: int, line_fen: int, margin_fen: int, actor: str, now: datetime, today: date
) -> PovertyLine:
    """Set (or correct) a year's poverty line and monitoring margin.

    One upsert, not a read then an insert: two officers setting a new year at once must both succeed (the
    later write wins) rather than one failing on the primary key.
    """
    values = {"line_fen": line_fen, "monitoring_margin_fen": margin_fen, "set_by": actor, "set_at": now}
    dialect = postgresql if session.bind is not None and session.bind.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(PovertyLine).values(year=year, **values)
    await session.execute(stmt.on_conflict_do_update(index_elements=[col(PovertyLine.year)], set_=values))
    line = await session.get(PovertyLine, year, populate_existing=True)
    assert line is not None  # just written
    publish(session, PovertyLineSet(year=year, line_fen=line_fen, monitoring_margin_fen=margin_fen))
    if year == today.year:  # monitoring judges this year's income: a higher line or margin can put households under
        await monitoring.check_all_incomes(session, year=year, now=now, today=today, actor=actor)
    return line


async def poverty_lines(session: AsyncSession, *, after_year: int | None, limit: int) -> list[PovertyLine]:
    """Up to `limit` years' lines in year order, after `after_year`."""
    stmt = select(PovertyLine)
    if after_year is not None:
        stmt = stmt.where(col(PovertyLine.year) > after_year)
    return list((await session.scalars(stmt.order_by(col(PovertyLine.year)).limit(limit))).all())


async def _ensure_room_for_record(session: AsyncSession, household: Household, year: int) -> None:
    """RuleViolation (409) when the household has `MAX_INCOME_RECORDS_PER_YEAR` records for the year already (the
    caller holds the household locked)."""
    stmt = (
        select(func.count())
        .select_from(IncomeRecord)
        .where(col(IncomeRecord.household_id) == household.id, col(IncomeRecord.year) == year)
    )
    if int(await session.scalar(stmt) or 0) >= MAX_INCOME_RECORDS_PER_YEAR:
        raise RuleViolation(
            f"A household has at most {MAX_INCOME_RECORDS_PER_YEAR} income records per year; "
            f"{year} has that many already."
        )


async def record_income(
    session: AsyncSession,
    household: Household,
    *,
    year: int,
    source: IncomeSource,
    amount_fen: int,
    note: str,
    actor: str,
    now: datetime,
    today: date,
) -> tuple[IncomeRecord, int]:
    """Record income at `now`; returns the record and the year's per-capita income after it (then checks relapse
    risk)."""
    if year > today.year:
        raise InvalidInput("Income cannot be recorded for a future year.")
    await _ensure_room_for_record(session, household, year)
    record = IncomeRecord(
        household_id=household.id,
        year=year,
        source=source,
        amount_fen=amount_fen,
        note=note,
        recorded_by=actor,
        recorded_at=now,
    )
    session.add(record)
    await session.flush()  # the total below includes it
    members = len(await member_facts(session, household.id, on=members_counted_on(year, today)))
    per_capita = per_capita_fen(await income_total(session, household.id, year), members)
    changes = {"year": year, "source": source, "amount_fen": amount_fen, "per_capita_income_fen": per_capita}
    history.note(session, household.id, actor=actor, action="income.recorded", changes=changes, now=now)
    publish(
        session,
        IncomeRecorded(
            household_id=household.id,
            record_id=record.id,
            year=year,
            source=source,
            amount_fen=amount_fen,
            per_capita_income_fen=per_capita,
        ),
    )
    await monitoring.check_income(session, household, year=year, now=now, today=today, actor=actor)
    return record, per_capita


async def income_records(session: AsyncSession, household: Household, year: int) -> list[IncomeRecord]:
    rows = await session.scalars(
        select(IncomeRecord)
        .where(col(IncomeRecord.household_id) == household.id, col(IncomeRecord.year) == year)
        .order_by(col(IncomeRecord.recorded_at))
    )
    return list(rows.all())

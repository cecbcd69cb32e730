"""Subsidies' part of the half-year report (工作成效, 兜底保障 and the programmes' money): what was paid per
programme, to how many households and people, the new 低保 and 特困 enrolments and the monthly standards in force.

Every figure is one aggregate query (SUM / COUNT / GROUP BY in the database) over payments filtered by when they
were paid and by the area snapshot they were decided with; the definitions are in the service's README.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Select, and_, case, cast, distinct, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from services.subsidies.models import Payment, PaymentCorrection, Programme, ProgrammeVersion
from services.subsidies.rules.vocabulary import Frequency
from shared.contracts.subsidies import PolicyCode
from shared.reporting import Figure, ReportPeriod, Unit

# The programmes whose households are enrolled (新纳入) rather than paid once: 低保 and 特困供养.
ENROLLED_PROGRAMMES = (PolicyCode.DIBAO.value, PolicyCode.EXTREME_POVERTY_SUPPORT.value)


def _total(column: Any) -> Any:
    """SUM as a whole number on every database (PostgreSQL sums BIGINT as NUMERIC), 0 for none."""
    return cast(func.coalesce(func.sum(column), 0), BigInteger)


async def report_figures(session: AsyncSession, period: ReportPeriod, area_prefix: str) -> list[Figure]:
    """The figures of the period (both days included) for payments decided within `area_prefix` ("" for all)."""
    start, end = period.starts_at, period.ends_before
    figures = await _paid_amounts(session, start, end, area_prefix)
    figures += await _paid_holders(session, start, end, area_prefix)
    figures += await _new_enrolments(session, period, end, area_prefix)
    return figures + await _monthly_standards(session, period.end)


async def _paid_amounts(session: AsyncSession, start: datetime, end: datetime, area_prefix: str) -> list[Figure]:
    """`paid.amount`: paid in the period less what was reversed or recovered in it, for every catalogue programme."""
    paid = select(col(Payment.policy_code), _total(Payment.amount_fen)).where(
        col(Payment.paid_at) >= start, col(Payment.paid_at) < end, col(Payment.area_code).startswith(area_prefix)
    )
    corrected = (
        select(col(Payment.policy_code), _total(PaymentCorrection.amount_fen))
        .join(Payment, col(Payment.id) == col(PaymentCorrection.payment_id))
        .where(
            col(PaymentCorrection.recorded_at) >= start,
            col(PaymentCorrection.recorded_at) < end,
            col(Payment.area_code).startswith(area_prefix),
        )
    )
    paid_fen, corrected_fen = await _by_programme(session, paid), await _by_programme(session, corrected)
    programmes = (await session.scalars(select(col(Programme.code)).order_by(col(Programme.code)))).all()
    return [
        Figure(
            key="paid.amount",
            value=paid_fen.get(code, 0) - corrected_fen.get(code, 0),
            unit=Unit.FEN,
            by={"programme": code},
        )
        for code in programmes
    ]


async def _by_programme(session: AsyncSession, stmt: Select[Any]) -> dict[str, int]:
    rows = await session.execute(stmt.group_by(col(Payment.policy_code)))
    return {str(code): int(value) for code, value in rows.all()}


def _kept(start: datetime, end: datetime, area_prefix: str) -> Select[Any]:
    """Payments paid in the period and not reversed or recovered by its end."""
    correction = aliased(PaymentCorrection)
    return (
        select(Payment)
        .outerjoin(
            correction,
            and_(col(correction.payment_id) == col(Payment.id), col(correction.recorded_at) < end),
        )
        .where(
            col(correction.id).is_(None),
            col(Payment.paid_at) >= start,
            col(Payment.paid_at) < end,
            col(Payment.area_code).startswith(area_prefix),
        )
    )


def _people() -> Any:
    """A household's people paid: its members paid (a member's programme), else the most living members any of its
    household payments was decided for."""
    return case(
        (func.count(col(Payment.member_id)) == 0, func.max(col(Payment.member_count))),
        else_=func.count(distinct(col(Payment.member_id))),
    )


async def _paid_holders(session: AsyncSession, start: datetime, end: datetime, area_prefix: str) -> list[Figure]:
    """`paid.households`, `paid.people` and `paid.person_times` per programme paid in the period."""
    per_household = (
        _kept(start, end, area_prefix)
        .with_only_columns(
            col(Payment.policy_code).label("code"),
            col(Payment.household_id).label("household_id"),
            _people().label("people"),
            func.count().label("times"),
        )
        .group_by(col(Payment.policy_code), col(Payment.household_id))
        .subquery()
    )
    rows = await session.execute(
        select(
            per_household.c.code,
            func.count(),
            _total(per_household.c.people),
            _total(per_household.c.times),
        )
        .group_by(per_household.c.code)
        .order_by(per_household.c.code)
    )
    figures: list[Figure] = []
    for code, households, people, times in rows.all():
        by = {"programme": str(code)}
        figures += [
            Figure(key="paid.households", value=int(households), unit=Unit.HOUSEHOLDS, by=by),
            Figure(key="paid.people", value=int(people), unit=Unit.PEOPLE, by=by),
            Figure(key="paid.person_times", value=int(times), unit=Unit.PERSON_TIMES, by=by),
        ]
    return figures


async def _new_enrolments(session: AsyncSession, period: ReportPeriod, end: datetime, area_prefix: str) -> list[Figure]:
    """`enrolled.new_households` and `enrolled.new_people` (新纳入) of 低保 and 特困供养: households paid by the
    period's end for a month of the period and for no month of the as long span just before it."""
    before = period.start - timedelta(days=(period.end - period.start).days + 1)
    earlier = aliased(Payment)
    earlier_correction = aliased(PaymentCorrection)
    paid_before = (
        select(col(earlier.id))
        .outerjoin(
            earlier_correction,
            and_(col(earlier_correction.payment_id) == col(earlier.id), col(earlier_correction.recorded_at) < end),
        )
        .where(
            col(earlier_correction.id).is_(None),
            col(earlier.household_id) == col(Payment.household_id),
            col(earlier.policy_code) == col(Payment.policy_code),
            col(earlier.period) >= before.strftime("%Y-%m"),
            col(earlier.period) < period.months[0],
        )
    )
    correction = aliased(PaymentCorrection)
    per_household = (
        select(
            col(Payment.policy_code).label("code"),
            col(Payment.household_id).label("household_id"),
            _people().label("people"),
        )
        .outerjoin(correction, and_(col(correction.payment_id) == col(Payment.id), col(correction.recorded_at) < end))
        .where(
            col(correction.id).is_(None),
            col(Payment.policy_code).in_(ENROLLED_PROGRAMMES),
            col(Payment.period) >= period.months[0],
            col(Payment.period) <= period.months[1],
            col(Payment.paid_at) < end,
            col(Payment.area_code).startswith(area_prefix),
            ~exists(paid_before),
        )
        .group_by(col(Payment.policy_code), col(Payment.household_id))
        .subquery()
    )
    rows = await session.execute(
        select(per_household.c.code, func.count(), _total(per_household.c.people)).group_by(per_household.c.code)
    )
    counted = {str(code): (int(households), int(people)) for code, households, people in rows.all()}
    figures: list[Figure] = []
    for code in ENROLLED_PROGRAMMES:
        households, people = counted.get(code, (0, 0))
        by = {"programme": code}
        figures += [
            Figure(key="enrolled.new_households", value=households, unit=Unit.HOUSEHOLDS, by=by),
            Figure(key="enrolled.new_people", value=people, unit=Unit.PEOPLE, by=by),
        ]
    return figures


async def _monthly_standards(session: AsyncSession, day: date) -> list[Figure]:
    """`standard.monthly`: each monthly programme's amount in force on `day` (its latest version from then)."""
    latest = (
        select(col(ProgrammeVersion.programme_code).label("code"), func.max(col(ProgrammeVersion.version)).label("v"))
        .where(col(ProgrammeVersion.effective_from) <= day)
        .group_by(col(ProgrammeVersion.programme_code))
        .subquery()
    )
    rows = await session.execute(
        select(col(ProgrammeVersion.programme_code), col(ProgrammeVersion.amount_fen))
        .join(
            latest,
            and_(latest.c.code == col(ProgrammeVersion.programme_code), latest.c.v == col(ProgrammeVersion.version)),
        )
        .join(Programme, col(Programme.code) == col(ProgrammeVersion.programme_code))
        .where(col(Programme.frequency) == Frequency.MONTHLY.value)
        .order_by(col(ProgrammeVersion.programme_code))
    )
    return [
        Figure(key="standard.monthly", value=int(fen), unit=Unit.FEN, by={"programme": str(code)})
        for code, fen in rows.all()
    ]

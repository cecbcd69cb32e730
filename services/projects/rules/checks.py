"""What the scheduled checks judge (定期核查): a date overdue, the return an asset owes for a year, an income left
undistributed too long. Pure: the day is given, never read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from services.projects.rules.vocabulary import CheckCode
from shared.contracts.audit import Severity

BASIS_POINTS = 10_000
MONTHS = 12
# An asset registered in the second half of a year is judged from the next year on: a few months' income says
# little about the return agreed for a year.
JUDGED_FROM_MONTH = 7
# A project left unaccepted, or its income kept from the households, is serious; the rest is general.
SEVERITY = {
    CheckCode.MILESTONE_OVERDUE: Severity.GENERAL,
    CheckCode.ACCEPTANCE_OVERDUE: Severity.SERIOUS,
    CheckCode.CONTRACT_EXPIRED: Severity.GENERAL,
    CheckCode.INCOME_BELOW_RETURN: Severity.GENERAL,
    CheckCode.INCOME_NOT_DISTRIBUTED: Severity.SERIOUS,
}


def days_late(due_on: date, *, today: date) -> int:
    """Days past the due day (0 when not late): on the due day itself there is still time, so a check selects
    what is due before today."""
    return max((today - due_on).days, 0)


def distribution_cutoff(*, today: date, days: int) -> date:
    """An income that arrived before this day and has no approved plan is late: it arrived more than `days` days
    ago."""
    return today - timedelta(days=days)


def judged_years(registered_on: date, *, today: date) -> range:
    """The calendar years an asset's return is judged for: those that have ended, from the year of registration
    when it was registered before 1 July, else from the next one."""
    first = registered_on.year if registered_on.month < JUDGED_FROM_MONTH else registered_on.year + 1
    return range(first, today.year)


def months_owned(registered_on: date, year: int) -> int:
    """Full months the owner held the asset in `year`: from the month after registration, or all twelve."""
    if year < registered_on.year:
        return 0
    if year == registered_on.year:
        return MONTHS - registered_on.month
    return MONTHS


def expected_return_fen(value_fen: int, agreed_return_bp: int, months: int) -> int:
    """The agreed yearly return for `months` months, in whole fen rounded down (integer arithmetic only)."""
    return value_fen * agreed_return_bp * months // (BASIS_POINTS * MONTHS)


@dataclass(frozen=True)
class ReturnShortfall:
    """A year in which an asset earned less than its agreed return (收益未达约定)."""

    year: int
    months: int
    expected_fen: int
    received_fen: int


def return_shortfall(
    *, value_fen: int, agreed_return_bp: int, registered_on: date, year: int, received_fen: int
) -> ReturnShortfall | None:
    """The shortfall of `year`, or None when the income recorded for it reached the agreed return."""
    months = months_owned(registered_on, year)
    expected = expected_return_fen(value_fen, agreed_return_bp, months)
    if received_fen >= expected:
        return None
    return ReturnShortfall(year=year, months=months, expected_fen=expected, received_fen=received_fen)


def yuan(fen: int) -> str:
    """Fen written as yuan for a description: 123456 -> "1,234.56 yuan"."""
    return f"{fen // 100:,}.{fen % 100:02d} yuan"


def percent(bp: int) -> str:
    """Basis points written as a percentage: 800 -> "8.00 %"."""
    return f"{bp // 100}.{bp % 100:02d} %"


def describe_milestone(name: str, due_on: date, progress_pct: int, *, today: date) -> str:
    late = days_late(due_on, today=today)
    return f'Milestone "{name}" was due on {due_on} and is not completed ({progress_pct} % done): {late} days late.'


def describe_acceptance(status: str, due_on: date, *, today: date) -> str:
    late = days_late(due_on, today=today)
    return f"Acceptance (验收) was due by {due_on} and the project is still {status}: {late} days late."


def describe_contract(kind: str, provider: str, expires_on: date, *, today: date) -> str:
    late = days_late(expires_on, today=today)
    return (
        f"The {kind} contract with {provider} expired on {expires_on} and no {kind} contract has covered the "
        f"project since: {late} days without one."
    )


def describe_shortfall(asset: str, value_fen: int, agreed_return_bp: int, shortfall: ReturnShortfall) -> str:
    return (
        f'Asset "{asset}" earned {yuan(shortfall.received_fen)} in {shortfall.year}, below its agreed return of '
        f"{yuan(shortfall.expected_fen)} ({percent(agreed_return_bp)} a year of {yuan(value_fen)} for "
        f"{shortfall.months} months owned)."
    )


def describe_undistributed(period: str, amount_fen: int, arrived_on: date, *, today: date, days: int) -> str:
    waited = (today - arrived_on).days
    return (
        f"Income of {period} ({yuan(amount_fen)}) arrived on {arrived_on} and has no approved distribution plan "
        f"{waited} days later (plans are due within {days} days)."
    )

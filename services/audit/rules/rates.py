"""The rectification rate (整改率) and time to close, of findings grouped by township and category."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from shared.areas import township_of

SECONDS_PER_DAY = 86400
RATE_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class RectificationRate:
    township: str
    category: str
    findings: int
    closed: int
    average_days_to_close: float | None

    @property
    def rate(self) -> Decimal:
        """The rectification rate (整改率): closed findings over findings, exact to four places."""
        return (Decimal(self.closed) / Decimal(self.findings)).quantize(RATE_PLACES)


def rates_of(findings: Iterable[tuple[str, str, datetime, datetime | None]]) -> list[RectificationRate]:
    """Rates of findings given as (area code, category, opened at, closed at or None), by township and category."""
    opened: Counter[tuple[str, str]] = Counter()
    durations: defaultdict[tuple[str, str], list[float]] = defaultdict(list)
    for area_code, category, opened_at, closed_at in findings:
        key = (township_of(area_code), category)
        opened[key] += 1
        if closed_at is not None:
            durations[key].append((closed_at - opened_at).total_seconds() / SECONDS_PER_DAY)
    return [
        RectificationRate(
            township=key[0],
            category=key[1],
            findings=count,
            closed=len(durations[key]),
            average_days_to_close=round(sum(durations[key]) / len(durations[key]), 2) if durations[key] else None,
        )
        for key, count in sorted(opened.items())
    ]

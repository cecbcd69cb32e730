"""The services' parts as one lookup: a figure's value by (service, key, by), or None when no part holds it."""

from __future__ import annotations

from collections.abc import Mapping

from shared.half_year_report.document import FigureRef
from shared.reporting import ReportPart, Unit

# Splits a service lists only for the values that occur (its README's "Report figures"): in a part that was read, a
# value not listed is a known zero. Every other figure absent from a part is one the service could not know.
LISTED_AS_THEY_OCCUR = frozenset({
    ("households", "register.households", "township"),
    ("households", "register.people", "township"),
    ("households", "visits.households", "round"),
    ("households", "visits.problems", "category"),
    ("households", "schooling.students", "stage"),
    ("households", "schooling.dropped_out", "stage"),
    ("projects", "projects.started", "township"),
    ("subsidies", "paid.households", "programme"),
    ("subsidies", "paid.people", "programme"),
    ("subsidies", "paid.person_times", "programme"),
    ("audit", "findings.found", "township"),
    ("audit", "findings.found", "category"),
    ("audit", "findings.found", "severity"),
    ("audit", "findings.rectified", "township"),
    ("audit", "findings.open", "township"),
    ("audit", "findings.overdue", "township"),
    ("audit", "tasks.reopened", "township"),
    ("audit", "referrals.made", "township"),
})  # fmt: skip


def ref_of(service: str, key: str, by: Mapping[str, str]) -> FigureRef:
    """The figure's reference; a part's `by` has at most one dimension (fetch refuses a part with more)."""
    return FigureRef(service, key, next(iter(by.items())) if by else None)


class Figures:
    """What the parts read say. A service whose part is absent (not read) answers None for every figure: missing,
    never zero."""

    def __init__(self, parts: Mapping[str, ReportPart]) -> None:
        self._values: dict[FigureRef, int] = {}
        self._units: dict[FigureRef, Unit] = {}
        for service, part in parts.items():
            for figure in part.figures:
                ref = ref_of(service, figure.key, figure.by)
                self._values[ref] = figure.value
                self._units[ref] = figure.unit
        self.services = frozenset(parts)

    def value(self, ref: FigureRef, unit: Unit | None = None) -> int | None:
        """The figure's value; None when no part holds it, or when it was reported in another unit than `unit`."""
        if ref in self._values:
            return self._values[ref] if unit in (None, self._units[ref]) else None
        occurring = ref.by is not None and (ref.service, ref.key, ref.by[0]) in LISTED_AS_THEY_OCCUR
        return 0 if occurring and ref.service in self.services else None

    def split(self, service: str, key: str, dimension: str) -> dict[str, int] | None:
        """The figure's values by the dimension's values ({} when none occurred), or None when the service's part
        is absent."""
        if service not in self.services:
            return None
        return {
            ref.by[1]: value
            for ref, value in self._values.items()
            if ref.service == service and ref.key == key and ref.by and ref.by[0] == dimension
        }

    def rows(self) -> list[tuple[str, str, str, int, str]]:
        """Every figure as (service, key, by written "dim=value" or "", value, unit), in a stable order."""
        rows = [
            (ref.service, ref.key, f"{ref.by[0]}={ref.by[1]}" if ref.by else "", value, self._units[ref].value)
            for ref, value in self._values.items()
        ]
        return sorted(rows, key=lambda row: row[:3])

"""The half-year report (半年工作总结) as data: what the composer fills in and every renderer (Markdown, HTML, CSV,
XLSX) writes out. Nothing here knows HTTP or a file format.

A sentence of the report is text with figures in it. A figure the platform holds is `Stated` (its value as the
services reported it); one it does not hold is `Missing` and is written as missing, never invented. Both carry the
seed's own number, the district's 2020 first-half report, so that a report of the demo district can be checked
figure by figure against the report it was shaped on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from shared.reporting import Unit


@dataclass(frozen=True)
class FigureRef:
    """Which service's figure, under which key, split how: `by` is the one dimension's (name, value), or None for
    the figure's total."""

    service: str
    key: str
    by: tuple[str, str] | None = None

    def __str__(self) -> str:
        split = f"[{self.by[0]}={self.by[1]}]" if self.by else ""
        return f"{self.service}:{self.key}{split}"


@dataclass(frozen=True)
class Stated:
    """A figure the report states: the value the services reported (`None` when the figure is one the platform
    holds but no service reported it, e.g. a service was not reachable: shown as missing), written the way the
    sentence needs (`written`, e.g. "83户", "2150万元"), and the seed's number in the same unit, if it states one."""

    ref: FigureRef
    unit: Unit
    value: int | None
    written: str
    seed: int | None = None


@dataclass(frozen=True)
class Missing:
    """A figure the platform does not hold (masks handed out, articles in the press): `what` says what it is and
    `seed_written` is how the seed wrote it, for the reader who has the paper report."""

    what: str
    seed_written: str


Part = str | Stated | Missing

# The tables the HTML page charts, by name: the columns each has (amounts in fen, rates in basis points).
CHARTED = {
    "rectification_by_township": ("township", "found", "rectified", "rectification_rate_bp"),
    "paid_by_programme": ("programme", "amount_fen", "people"),
    "funds_by_source": ("source", "allocated_fen", "spent_fen"),
    "visits_by_round": ("round", "households"),
}


@dataclass(frozen=True)
class Paragraph:
    """A numbered paragraph of a section, e.g. heading "(四)扎实落实行业扶贫政策。", its parts in order."""

    heading: str
    parts: tuple[Part, ...]


@dataclass(frozen=True)
class Section:
    heading: str  # e.g. "一、工作成效"
    paragraphs: tuple[Paragraph, ...]


@dataclass(frozen=True)
class Table:
    """A table of figures, as CSV or an XLSX sheet: `name` is the file or sheet name (ASCII), `title` the caption.
    The HTML page draws its charts from the tables named in `CHARTED`."""

    name: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str | int | None, ...], ...]


@dataclass(frozen=True)
class Source:
    """One service's part as it came: where from and when it was computed, or why it could not be read."""

    service: str
    url: str
    computed_at: datetime | None
    error: str | None = None


@dataclass(frozen=True)
class Document:
    title: str
    period_from: date
    period_to: date
    area_code: str
    sections: tuple[Section, ...]
    tables: tuple[Table, ...] = ()
    sources: tuple[Source, ...] = ()

    def stated(self) -> list[Stated]:
        """Every figure the sentences state, in reading order."""
        return [p for s in self.sections for para in s.paragraphs for p in para.parts if isinstance(p, Stated)]

    def missing(self) -> list[Missing]:
        return [p for s in self.sections for para in s.paragraphs for p in para.parts if isinstance(p, Missing)]

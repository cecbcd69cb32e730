"""How the template fills a sentence's figures: each `Stated` from the parts read, written the way the seed writes
numbers (万元 with up to two decimals, 元, 户, 人 ...: `amounts`, `count`, `percent`), or `Missing`.

Two kinds of `Stated` are the template's own (document.py's fields unchanged): `Derived`, a figure computed from
reported ones (扶贫总支出 = the sum of the sources' spending), and `AtLeast`, one the seed states as "more than" its
number (人均收入超过4500元): the sentence writes the value as it is, and the loop check compares value ≥ seed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from shared.half_year_report.document import FigureRef, Stated
from shared.half_year_report.figures import Figures
from shared.reporting import Unit

Writer = Callable[[int], str]


@dataclass(frozen=True)
class Derived(Stated):
    """A figure computed from reported ones; `how` says how, and `ref` names that computation."""

    how: str = ""


@dataclass(frozen=True)
class AtLeast(Stated):
    """A figure the seed states as "more than" `seed`: compared value ≥ seed, written as it is."""


def count(suffix: str) -> Writer:
    return lambda n: f"{n}{suffix}"


def percent(basis_points: int) -> str:
    return f"{Decimal(basis_points) / 100:.2f}%"


def _written(value: int | None, write: Writer) -> str:
    return "" if value is None else write(value)


class Filler:
    """Makes a template's figures from what the parts say. A figure reported in another unit than the sentence's
    is not stated (missing): 15.75万元 is never written from a count of people."""

    def __init__(self, figures: Figures) -> None:
        self.figures = figures

    def fig(
        self,
        service: str,
        key: str,
        unit: Unit,
        write: Writer,
        seed: int | None = None,
        by: tuple[str, str] | None = None,
    ) -> Stated:
        ref = FigureRef(service, key, by)
        value = self.figures.value(ref, unit)
        return Stated(ref, unit, value, _written(value, write), seed)

    def at_least(self, service: str, key: str, by: tuple[str, str], write: Writer, seed: int) -> AtLeast:
        ref = FigureRef(service, key, by)
        value = self.figures.value(ref, Unit.FEN)
        return AtLeast(ref, Unit.FEN, value, _written(value, write), seed)

    def derived(
        self, service: str, how: str, unit: Unit, value: int | None, write: Writer, seed: int | None = None
    ) -> Derived:
        return Derived(FigureRef(service, how), unit, value, _written(value, write), seed, how=how)

    def total(self, refs: Iterable[FigureRef]) -> int | None:
        """The sum of the figures, or None when one of them is missing."""
        values = [self.figures.value(ref) for ref in refs]
        return None if any(v is None for v in values) else sum(v for v in values if v is not None)

"""How the template fills a sentence's figures: each `Stated` from the parts read, written the way the seed writes
numbers (万元 with up to two decimals, 元, 户, 人 ...), or `Missing`.

Two kinds of `Stated` are the template's own (document.py's fields unchanged): `Derived`, a figure computed from
reported ones (其余4个项目 = started − accepted), and `AtLeast`, one the seed states as "more than" its number
(人均收入超过4500元): the sentence writes the value as it is, and the loop check compares value ≥ seed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from shared.half_year_report.document import FigureRef, Missing, Stated
from shared.half_year_report.figures import Figures
from shared.reporting import Unit

YUAN = 100  # fen
WAN = 10_000 * YUAN  # 万元

Writer = Callable[[int], str]


@dataclass(frozen=True)
class Derived(Stated):
    """A figure computed from reported ones; `how` says how, and `ref` names that computation."""

    how: str = ""


@dataclass(frozen=True)
class AtLeast(Stated):
    """A figure the seed states as "more than" `seed`: compared value ≥ seed, written as it is."""


def wan(fen: int) -> str:
    """ "2150万元", "446.64万元": 万元 rounded to two decimals, trailing zeros dropped as the seed writes them."""
    amount = (Decimal(fen) / WAN).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return f"{amount.normalize():f}万元"


def yuan(fen: int) -> str:
    """ "4500元", "91643.06元"."""
    amount = Decimal(fen) / YUAN
    return f"{amount.normalize():f}元" if fen % YUAN == 0 else f"{amount:.2f}元"


def count(suffix: str) -> Writer:
    return lambda n: f"{n}{suffix}"


def percent(basis_points: int) -> str:
    return f"{Decimal(basis_points) / 100:.2f}%"


class Filler:
    """Makes a template's figures from what the parts say."""

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
        value = self.figures.value(ref)
        return Stated(ref, unit, value, write(value) if value is not None else "", seed)

    def at_least(self, service: str, key: str, by: tuple[str, str], write: Writer, seed: int) -> AtLeast:
        ref = FigureRef(service, key, by)
        value = self.figures.value(ref)
        return AtLeast(ref, Unit.FEN, value, write(value) if value is not None else "", seed)

    def derived(
        self, service: str, how: str, unit: Unit, value: int | None, write: Writer, seed: int | None = None
    ) -> Derived:
        ref = FigureRef(service, how)
        return Derived(ref, unit, value, write(value) if value is not None else "", seed, how=how)

    def total(self, refs: Iterable[FigureRef]) -> int | None:
        """The sum of the figures, or None when one of them is missing."""
        values = [self.figures.value(ref) for ref in refs]
        return None if any(v is None for v in values) else sum(v for v in values if v is not None)


def missing(what: str, seed_written: str) -> Missing:
    return Missing(what, seed_written)

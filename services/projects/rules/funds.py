"""Funding lines (资金指标), the draws projects make on them and what they spend (支出): the money never runs past
its line, and the district's totals by source.

Each check raises the domain error its refusal is; the use cases give them the figures under a lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from services.projects.rules.vocabulary import FundSource, ProjectStatus
from shared.errors import Conflict

# 上级资金: the funds that come from above the district (central, provincial and municipal).
HIGHER_LEVELS = frozenset({FundSource.CENTRAL, FundSource.PROVINCIAL, FundSource.MUNICIPAL})
# A planned project has no approval to spend under, and a closed one has stopped spending.
SPENDING = frozenset(ProjectStatus) - {ProjectStatus.PLANNED, ProjectStatus.CLOSED}
# A project draws on its lines from when it is planned (approval needs a draw) until it is closed.
DRAWING = frozenset(ProjectStatus) - {ProjectStatus.CLOSED}


def ensure_draw_fits(*, line_fen: int, drawn_by_others_fen: int, new_total_fen: int, spent_fen: int) -> None:
    """A project's draw on a line is set to `new_total_fen`: the line's draws stay within its amount
    (`allocation_exhausted`) and the draw stays at least what the project has spent from it (`draw_below_spent`)."""
    if new_total_fen < spent_fen:
        raise Conflict(
            "A draw cannot be less than what the project has already spent from it.",
            code="draw_below_spent",
            spent_fen=spent_fen,
        )
    available = line_fen - drawn_by_others_fen
    if new_total_fen > available:
        raise Conflict(
            "The funding line has not that much left to draw.",
            code="allocation_exhausted",
            available_fen=max(available, 0),
        )


def ensure_spending_fits(*, drawn_fen: int, spent_fen: int, amount_fen: int) -> None:
    """Spending against a draw never passes it (`funding_exhausted`, with what is left)."""
    available = drawn_fen - spent_fen
    if amount_fen > available:
        raise Conflict(
            "The project has not that much left of this draw.",
            code="funding_exhausted",
            available_fen=max(available, 0),
        )


@dataclass(frozen=True)
class Money:
    """What a source (or a group of sources) has: allocated, drawn by projects and spent by them."""

    allocated_fen: int = 0
    drawn_fen: int = 0
    spent_fen: int = 0

    def __add__(self, other: Money) -> Money:
        return Money(
            self.allocated_fen + other.allocated_fen,
            self.drawn_fen + other.drawn_fen,
            self.spent_fen + other.spent_fen,
        )


@dataclass(frozen=True)
class Totals:
    """A year's funds by source (every source, in `FundSource` order), the higher levels' (上级资金) and the whole."""

    by_source: dict[FundSource, Money]
    higher_levels: Money
    total: Money


def totals(*, allocated: Mapping[str, int], drawn: Mapping[str, int], spent: Mapping[str, int]) -> Totals:
    """The sums per source the database gave (a source it did not name had none) put together."""
    by_source = {
        source: Money(allocated.get(source, 0), drawn.get(source, 0), spent.get(source, 0)) for source in FundSource
    }
    return Totals(
        by_source=by_source,
        higher_levels=_sum(m for s, m in by_source.items() if s in HIGHER_LEVELS),
        total=_sum(by_source.values()),
    )


def _sum(amounts: Iterable[Money]) -> Money:
    return sum(amounts, Money())

"""Money as the report writes it, one way everywhere: integer fen in, ordinary rounding (half up) to 0.01 万元 out
(sentences and chart labels: `wan`, `yuan`; the page's tables: `yuan_grouped`; CSV and XLSX: `in_yuan`).

A non-zero amount is never written as zero: one too small for 0.01万元 is written in 元 ("40元"), and no "-0".
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

YUAN = 100  # fen
WAN = 10_000 * YUAN  # 万元
_CENT = Decimal("0.01")


def in_yuan(fen: int) -> Decimal:
    """The amount in yuan, two decimals: exact, a fen being a cent."""
    return (Decimal(fen) / YUAN).quantize(_CENT)


def in_wan(fen: int) -> Decimal:
    """The amount in 万元, rounded half up to two decimals (446,640,049 fen → 446.64)."""
    return (Decimal(fen) / WAN).quantize(_CENT, ROUND_HALF_UP)


def _plain(amount: Decimal) -> str:
    """ "2150", "6.4", "91643.06": trailing zeros dropped, never "-0"."""
    return "0" if amount == 0 else f"{amount.normalize():f}"


def yuan(fen: int) -> str:
    """ "4500元", "91643.06元"."""
    amount = in_yuan(fen)
    return f"{_plain(amount)}元" if fen % YUAN == 0 else f"{amount}元"


def wan(fen: int) -> str:
    """ "2150万元", "446.64万元" as the seed writes them; an amount under 0.005万元 (50元) that is not zero in 元."""
    amount = in_wan(fen)
    return yuan(fen) if amount == 0 and fen != 0 else f"{_plain(amount)}万元"


def yuan_grouped(fen: int) -> str:
    """ "21,500,000.00": a table's amount in yuan."""
    return f"{in_yuan(fen):,}"

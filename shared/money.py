"""Money is integer fen (分), never float; amounts carry their unit in their name (`amount_fen`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MAX_AMOUNT_FEN = 10**12  # 10 billion yuan: anything larger is a typing error, not a project or a subsidy

# Strict: `1500.5`, `1500.0` and `"1500"` are refused; an amount is written as a JSON integer, nothing to guess at.
Fen = Annotated[
    int, Field(strict=True, le=MAX_AMOUNT_FEN, description="integer fen (分), written without a decimal point")
]

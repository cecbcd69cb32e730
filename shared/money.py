"""Money is integer fen (分), never float; amounts carry their unit in their name (`amount_fen`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

MAX_AMOUNT_FEN = 10**12  # 10 billion yuan: anything larger is a typing error, not a project or a subsidy


def whole_fen(value: object) -> object:
    """`1500.0` is the JSON integer 1500 (JSON Schema says so, and generated clients send it); `1500.5` and
    `"1500"` stay errors: an amount is a whole number of fen, never a float or text to guess at."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Fen = Annotated[int, BeforeValidator(whole_fen), Field(strict=True, le=MAX_AMOUNT_FEN, description="integer fen (分)")]

"""Cursor pagination: the cursor is the opaque base64 of the last row's sort key."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any, TypeVar

from shared.errors import InvalidInput

T = TypeVar("T")
K = TypeVar("K")


def encode_cursor(key: list[Any]) -> str:
    """An opaque cursor for the sort key of the last row returned."""
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str, *, arity: int) -> list[Any]:
    """The sort key a cursor carries; a 422 problem if it was not made by `encode_cursor`."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error) as exc:
        raise InvalidInput("The cursor is not valid.") from exc
    if not isinstance(key, list) or len(key) != arity:
        raise InvalidInput("The cursor is not valid.")
    return key


def parse_cursor(cursor: str, *, arity: int, parse: Callable[[list[Any]], K]) -> K:
    """The cursor's sort key converted by `parse`; any conversion error is the same 422 problem."""
    key = decode_cursor(cursor, arity=arity)
    try:
        return parse(key)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("The cursor is not valid.") from exc


def page_of(rows: list[T], limit: int, key: Callable[[T], list[Any]]) -> tuple[list[T], str | None]:
    """Split `limit + 1` fetched rows into the page and the next page's cursor (None on the last page)."""
    items = rows[:limit]
    return items, encode_cursor(key(items[-1])) if len(rows) > limit else None

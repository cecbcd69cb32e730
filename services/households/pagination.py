"""Cursor pagination: the cursor is the opaque base64 of the last row's sort key."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar
from uuid import UUID

from shared.errors import InvalidInput

T = TypeVar("T")
_MAX_ID = 2**63 - 1  # the largest BIGINT; a bigger number fails inside the database, not here
_MAX_TEXT = 100


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


def int_key(value: object) -> int:
    """A row id: a JSON integer (not a bool) that fits a BIGINT column."""
    if type(value) is not int or not 0 <= value <= _MAX_ID:
        raise ValueError("not a row id")
    return value


def text_key(value: object) -> str:
    """A text sort key (a household code) of at most a column's length."""
    if not isinstance(value, str) or len(value) > _MAX_TEXT:
        raise ValueError("not a text key")
    return value


def date_key(value: object) -> date:
    return date.fromisoformat(text_key(value))


def uuid_key(value: object) -> UUID:
    return UUID(text_key(value))


def parse_cursor(cursor: str, *fields: Callable[[object], Any]) -> tuple[Any, ...]:
    """The cursor's sort key, each part checked by its field parser; anything else is the same 422 problem.

    A cursor comes from the client, so every part is checked for type and range before it reaches a query.
    """
    key = decode_cursor(cursor, arity=len(fields))
    try:
        return tuple(parse(part) for parse, part in zip(fields, key, strict=True))
    except (ValueError, TypeError) as exc:
        raise InvalidInput("The cursor is not valid.") from exc


def page_of(rows: list[T], limit: int, key: Callable[[T], list[Any]]) -> tuple[list[T], str | None]:
    """Split `limit + 1` fetched rows into the page and the next page's cursor (None on the last page)."""
    items = rows[:limit]
    return items, encode_cursor(key(items[-1])) if len(rows) > limit else None

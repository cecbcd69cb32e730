"""Cursor pagination, the same on every list: `?limit=&cursor=` in, `{"items": [...], "next_cursor": ...}` out.

A cursor is the opaque base64 of the last row's sort key. It comes back from the client, so every part is
checked for type and range before it reaches a query; anything else is one 422 problem.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from shared.errors import InvalidInput

T = TypeVar("T")
Key = tuple[Any, ...]  # a row's sort key, as a cursor carries it
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100
_MAX_ID = 2**63 - 1  # the largest BIGINT; a bigger number fails inside the database, not here
_MAX_TEXT = 100
_INVALID = "The cursor is not valid: pass on the `next_cursor` of the previous page unchanged."


class Page(BaseModel, Generic[T]):
    """One page of a list, in a stable order."""

    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page.", examples=[None]
    )


@dataclass(frozen=True)
class PageRequest:
    """The page a client asks for: how many rows and after which one."""

    limit: int
    cursor: str | None

    def after(self, *fields: Callable[[object], Any]) -> tuple[Any, ...] | None:
        """The sort key of the row the page starts after (None for the first page), each part checked."""
        return None if self.cursor is None else parse_cursor(self.cursor, *fields)

    def page(self, rows: list[T], key: Callable[[T], list[Any]]) -> tuple[list[T], str | None]:
        """Split `limit + 1` fetched rows into the page and the next page's cursor (None on the last page)."""
        return page_of(rows, self.limit, key)


async def page_request(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Rows per page.")] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[
        str | None,
        Query(
            max_length=500,
            pattern=r"^[A-Za-z0-9_=-]+$",
            description="The `next_cursor` of the previous page; omit for the first page.",
        ),
    ] = None,
) -> PageRequest:
    return PageRequest(limit=limit, cursor=cursor)


Paging = Annotated[PageRequest, Depends(page_request)]


def encode_cursor(key: list[Any]) -> str:
    """An opaque cursor for the sort key of the last row returned."""
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str, *, arity: int) -> list[Any]:
    """The sort key a cursor carries; a 422 problem if it was not made by `encode_cursor`."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error) as exc:
        raise InvalidInput(_INVALID) from exc
    if not isinstance(key, list) or len(key) != arity:
        raise InvalidInput(_INVALID)
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


def datetime_key(value: object) -> datetime:
    """An aware timestamp (a row's creation time), in UTC as columns hold it: a forged one that has no UTC time
    (0001-01-01T00:00+14:00) is refused here, like any bad cursor, not when the database binds it."""
    parsed = datetime.fromisoformat(text_key(value))
    if parsed.tzinfo is None:
        raise ValueError("not an aware time")
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("a time with no UTC time") from exc


def uuid_key(value: object) -> UUID:
    return UUID(text_key(value))


def parse_cursor(cursor: str, *fields: Callable[[object], Any]) -> tuple[Any, ...]:
    """The cursor's sort key, each part checked by its field parser; anything else is the same 422 problem."""
    key = decode_cursor(cursor, arity=len(fields))
    try:
        return tuple(parse(part) for parse, part in zip(fields, key, strict=True))
    except (ValueError, TypeError) as exc:
        raise InvalidInput(_INVALID) from exc


def page_of(rows: list[T], limit: int, key: Callable[[T], list[Any]]) -> tuple[list[T], str | None]:
    """Split `limit + 1` fetched rows into the page and the next page's cursor (None on the last page)."""
    items = rows[:limit]
    return items, encode_cursor(key(items[-1])) if len(rows) > limit else None


def sorted_after(items: Sequence[T], key: Callable[[T], Key], after: Key | None, *, limit: int) -> list[T]:
    """A keyset page over rows computed in memory (a view's groups), in ascending `key` order."""
    ordered = sorted(items, key=key)
    return [item for item in ordered if after is None or key(item) > after][:limit]

"""Keyset pages of audit's lists: the rows after a cursor's key, in one stable order whose last column is unique.

A page starts strictly after the key of the previous page's last row, so rows added or changed meanwhile never
shift a page boundary: nothing is listed twice, nothing skipped (see each list's order for what may move).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, tuple_

T = TypeVar("T")
Key = tuple[Any, ...]


def keyset(
    stmt: Select[Any], columns: Sequence[Any], after: Key | None, *, limit: int | None, descending: bool = False
) -> Select[Any]:
    """`stmt` ordered by `columns` (ascending, or all descending), from the row after `after`, `limit` rows (None:
    all of them)."""
    if after is not None:
        row = tuple_(*columns)
        stmt = stmt.where(row < after if descending else row > after)
    order = [column.desc() if descending else column.asc() for column in columns]
    return stmt.order_by(*order).limit(limit)


def sorted_after(items: Sequence[T], key: Callable[[T], Key], after: Key | None, *, limit: int) -> list[T]:
    """The same window over a list computed in memory (a view's groups), in ascending `key` order."""
    ordered = sorted(items, key=key)
    return [item for item in ordered if after is None or key(item) > after][:limit]

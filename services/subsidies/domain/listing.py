"""How subsidies lists its records: the newest first, a page at a time, after the last row a client was given."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import Mapped

S = TypeVar("S", bound=Select[Any])


def newest_first(
    stmt: S, at: Mapped[datetime], key: Mapped[UUID], *, after: tuple[datetime, UUID] | None, limit: int
) -> S:
    """`stmt` in the unique order of a page, (`at`, `key`) descending, from the row after the cursor's."""
    if after is not None:
        last_at, last_key = after
        stmt = stmt.where(or_(at < last_at, and_(at == last_at, key < last_key)))
    return stmt.order_by(at.desc(), key.desc()).limit(limit)

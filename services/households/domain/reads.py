"""What read routes show of households and members, read as rows: only the columns an answer holds.

A member's sealed ID-card number (its ciphertext, key id and keyed hash) is never read here: the masked form is all a
read shows, and rows are not loaded as ORM objects, which would build and track every column only to be thrown away.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import ARRAY, Row, Select, Uuid, any_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.models import Member


async def member_rows(
    session: AsyncSession, household_ids: Sequence[UUID], columns: tuple[str, ...]
) -> dict[UUID, list[Row[Any]]]:
    """The named columns of the members of several households, in one query, each household's in a stable order."""
    grouped: dict[UUID, list[Row[Any]]] = defaultdict(list)
    if household_ids:
        statement = _members_of(session.get_bind().dialect.name, columns)
        for row in await session.execute(statement, {"households": list(household_ids)}):
            grouped[row.household_id].append(row)
    return grouped


@functools.cache
def _members_of(dialect: str, columns: tuple[str, ...]) -> Select[Any]:
    # Built once: a statement built per request is compiled from the cache, but its cache key is computed each time.
    # On PostgreSQL one array parameter (one prepared statement for any number of households), elsewhere an IN list.
    household = col(Member.household_id)
    matches = (
        household == any_(bindparam("households", type_=ARRAY(Uuid())))
        if dialect == "postgresql"
        else household.in_(bindparam("households", expanding=True))
    )
    return (
        select(household, *(getattr(Member, name) for name in columns))
        .where(matches)
        .order_by(household, col(Member.birth_date), col(Member.id))
    )

"""What read routes show of households and members, read as rows of table columns: only the columns an answer holds.

A member's sealed ID-card number (its ciphertext, key id and keyed hash) is never read here: the masked form is all a
read shows. Statements are Core selects of the tables' columns, built once with bind parameters and run by
`shared.db.read_rows` (on a connection of their own for a read route's session): no ORM object is built or tracked
only to be thrown away.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import Row, Select, Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.households.models import HelperCadre, Household, Member
from shared.db import one_of_parameter, read_rows

_HOUSEHOLD: Table = Household.__table__  # type: ignore[attr-defined]
_MEMBER: Table = Member.__table__  # type: ignore[attr-defined]
_CADRE: Table = HelperCadre.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class HouseholdRows:
    """A household's columns, its helper cadre's login (None when unassigned or not read) and its members'
    columns."""

    household: Sequence[Any]
    cadre_subject: str | None
    members: list[Sequence[Any]]


async def household_with_members(
    session: AsyncSession, household_id: UUID, columns: tuple[str, ...], member_columns: tuple[str, ...]
) -> HouseholdRows | None:
    """The named columns of a household and of its members (in a stable order), and who helps it: one statement,
    one round trip. None when no household has the id."""
    rows = await read_rows(session, _household_with_members(columns, member_columns), {"household": household_id})
    if not rows:
        return None
    width = len(columns)
    first = rows[0]
    members = [row[width + 1 :] for row in rows if row[width + 1] is not None]  # the member id: none without members
    return HouseholdRows(household=first[:width], cadre_subject=first[width], members=members)


def page_with_members(page: Select[Any], member_columns: tuple[str, ...]) -> Select[Any]:
    """`page` (a select of household columns, the id first, ordered by household code and limited) with the named
    columns of each household's members: a page in one statement, one row per member."""
    assert member_columns[0] == "id", "the member id tells a household without members"
    households, m = page.subquery("page"), _MEMBER.c
    return (
        select(households, *(m[n].label(f"member_{n}") for n in member_columns))
        .select_from(households.outerjoin(_MEMBER, m.household_id == households.c.id))
        .order_by(households.c.household_code, m.birth_date, m.id)
    )


def households_of(rows: Sequence[Row[Any]], width: int) -> list[HouseholdRows]:
    """The households of the rows of `page_with_members` (`width` household columns, the id first), in order."""
    households: list[HouseholdRows] = []
    for row in rows:
        if not households or households[-1].household[0] != row[0]:
            households.append(HouseholdRows(household=row[:width], cadre_subject=None, members=[]))
        if row[width] is not None:
            households[-1].members.append(row[width:])
    return households


@functools.cache
def _household_with_members(columns: tuple[str, ...], member_columns: tuple[str, ...]) -> Select[Any]:
    # Built once: a statement built per request is compiled from the cache, but its cache key is computed each time.
    h, m, cadre = _HOUSEHOLD.c, _MEMBER.c, _CADRE.c
    assert member_columns[0] == "id", "the member id tells a household without members"
    return (
        select(*(h[n] for n in columns), cadre.subject, *(m[n].label(f"member_{n}") for n in member_columns))
        .select_from(
            _HOUSEHOLD.outerjoin(_CADRE, cadre.id == h.helper_cadre_id).outerjoin(_MEMBER, m.household_id == h.id)
        )
        .where(h.id == bindparam("household", type_=h.id.type))
        .order_by(m.birth_date, m.id)
    )


async def member_rows(
    session: AsyncSession, household_ids: Sequence[UUID], columns: tuple[str, ...]
) -> dict[UUID, list[Row[Any]]]:
    """The named columns of the members of several households, in one query, each household's in a stable order."""
    grouped: dict[UUID, list[Row[Any]]] = defaultdict(list)
    if household_ids:
        statement = _members_of(session.get_bind().dialect.name, columns)
        for row in await read_rows(session, statement, {"households": list(household_ids)}):
            grouped[row.household_id].append(row)
    return grouped


@functools.cache
def _members_of(dialect: str, columns: tuple[str, ...]) -> Select[Any]:
    m = _MEMBER.c
    matches = one_of_parameter(dialect, m.household_id, "households", m.household_id.type)
    return select(m.household_id, *(m[n] for n in columns)).where(matches).order_by(m.household_id, m.birth_date, m.id)

"""Async database access: one engine per service, one session (one transaction) per use case."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Select, String, any_, cast, event, tuple_
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Mapped
from sqlalchemy.pool import ConnectionPoolEntry

CONNECTION_WAIT_S = 5.0
POOL_SIZE = 10
# The most connections one engine opens (its pool and as many again in overflow): what each pod costs PostgreSQL.
MAX_CONNECTIONS_PER_ENGINE = 2 * POOL_SIZE


def create_engine(url: str, *, pool_size: int = POOL_SIZE) -> AsyncEngine:
    """Create the service's engine; SQLite files get WAL and foreign keys, PostgreSQL a real pool.

    Parameters are hidden from SQLAlchemy's error messages: those reach logs and dead-letter headers,
    and parameters can be citizens' data.
    """
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "savepoint", _sqlite_begin_before_savepoint)
        return engine
    # An unreachable server fails a request within seconds (a 503), not after asyncpg's 60 s connect timeout,
    # which is longer than a proxy waits and than a pod's shutdown may take.
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_timeout=CONNECTION_WAIT_S,
        connect_args={"timeout": CONNECTION_WAIT_S},
        hide_parameters=True,
    )


def _sqlite_pragmas(dbapi_conn: object, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_before_savepoint(conn: Connection, _name: str) -> None:
    """The driver opens a transaction only at the first write, so a SAVEPOINT taken before it would commit on its
    release and a later rollback would not undo it: the transaction is begun first (IMMEDIATE, as writes follow)."""
    driver: Any = conn.connection.driver_connection  # aiosqlite's connection
    if not driver.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def is_postgres(engine: AsyncEngine | Engine) -> bool:
    """True when the engine talks to PostgreSQL (advisory locks, LISTEN/NOTIFY are available)."""
    return engine.dialect.name == "postgresql"


def one_of(
    dialect: Dialect, column: Mapped[Any] | ColumnElement[Any], values: Sequence[Any], item_type: Any = String
) -> ColumnElement[bool]:
    """`column` is one of `values`. On PostgreSQL one array parameter: an IN list of N parameters is a new
    statement for every N, prepared and planned again each time (tens of milliseconds for a few hundred)."""
    if dialect.name == "postgresql":
        return column == any_(cast(list(values), ARRAY(item_type)))
    return column.in_(values)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (responses are built from them)."""
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def unit_of_work(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One transaction: commit on success, roll back on any error. Domain code never commits."""
    async with sessions() as session, session.begin():
        yield session


def keyset(
    stmt: Select[Any],
    columns: Sequence[Any],
    after: tuple[Any, ...] | None,
    *,
    limit: int | None,
    descending: bool = False,
) -> Select[Any]:
    """`stmt` as a keyset page: ordered by `columns` (whose last is unique; ascending, or all descending), from the
    row after `after` (a cursor's key), `limit` rows (None: all). A page starts strictly after the previous page's
    last row, so rows added meanwhile never shift a page boundary: nothing is listed twice, nothing skipped."""
    if after is not None:
        row = tuple_(*columns)
        stmt = stmt.where(row < after if descending else row > after)
    order = [column.desc() if descending else column.asc() for column in columns]
    return stmt.order_by(*order).limit(limit)

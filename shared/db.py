"""Async database access: one engine per service, one session (one transaction) per use case."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Executable,
    Row,
    Select,
    String,
    TextualSelect,
    any_,
    bindparam,
    cast,
    event,
    text,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Mapped
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.dml import Insert
from sqlalchemy.util import greenlet_spawn

CONNECTION_WAIT_S = 5.0
POOL_SIZE = 10
# The most connections one service process opens: its writing and its reading pool (`reading_engine`), POOL_SIZE
# each and no overflow (shared/service.py). What each pod costs PostgreSQL. A command's engine (`create_engine`
# alone) has POOL_SIZE and as many again in overflow.
MAX_CONNECTIONS_PER_ENGINE = 2 * POOL_SIZE
# A pooled connection older than this is replaced at its next checkout: servers, proxies and firewalls drop
# connections idle for long, and a connection is never checked with a round trip before use (see `_alive`).
RECYCLE_S = 1800
# Marks, in `AsyncSession.info`, a session of a `reading_engine` (`reading_sessions`).
READING = "reading"


def create_engine(url: str, *, pool_size: int = POOL_SIZE, max_overflow: int | None = None) -> AsyncEngine:
    """Create the service's engine; SQLite files get WAL and foreign keys, PostgreSQL a real pool.

    Parameters are hidden from SQLAlchemy's error messages: those reach logs and dead-letter headers,
    and parameters can be citizens' data.
    """
    return _engine(url, pool_size=pool_size, max_overflow=max_overflow, read_only=False)


def reading_engine(url: str, *, pool_size: int = POOL_SIZE, max_overflow: int | None = None) -> AsyncEngine:
    """An engine for reads only: each statement runs on its own (autocommit), so a read costs no BEGIN and no
    COMMIT round trip, and the database refuses any write through it (`default_transaction_read_only`, SQLite's
    `query_only`). Each statement sees what was committed when it started, as in a READ COMMITTED transaction."""
    return _engine(url, pool_size=pool_size, max_overflow=max_overflow, read_only=True)


def _engine(url: str, *, pool_size: int, max_overflow: int | None, read_only: bool) -> AsyncEngine:
    """`max_overflow` connections beyond the pool's (default: as many again) are opened when all are busy and
    closed as they come back: under a steady load above the pool's size that is a new connection per request."""
    if url.startswith("sqlite"):
        options: dict[str, Any] = {"isolation_level": "AUTOCOMMIT"} if read_only else {}
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas if not read_only else _sqlite_reading_pragmas)
        event.listen(engine.sync_engine, "savepoint", _sqlite_begin_before_savepoint)
        return engine
    # An unreachable server fails a request within seconds (a 503), not after asyncpg's 60 s connect timeout,
    # which is longer than a proxy waits and than a pod's shutdown may take.
    connect_args: dict[str, Any] = {"timeout": CONNECTION_WAIT_S}
    if read_only:
        connect_args["server_settings"] = {"default_transaction_read_only": "on"}
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size if max_overflow is None else max_overflow,
        pool_recycle=RECYCLE_S,
        pool_timeout=CONNECTION_WAIT_S,
        connect_args=connect_args,
        hide_parameters=True,
        **({"isolation_level": "AUTOCOMMIT"} if read_only else {}),
    )
    event.listen(engine.sync_engine, "checkout", _alive)
    return engine


def _alive(dbapi_conn: Any, _record: ConnectionPoolEntry, _proxy: Any) -> None:
    """Refuse a pooled connection the server has closed (a restart, a failover, an administrator ending it): the
    pool then opens a new one. asyncpg learns of the close as soon as the server sends it, so this costs no round
    trip, unlike a pre-ping before every checkout. A connection lost without a word (a network cut) fails its first
    statement instead: SQLAlchemy then discards the whole pool, and the request answers 503."""
    if dbapi_conn.driver_connection.is_closed():
        raise DisconnectionError("the server closed this connection")


def _sqlite_pragmas(dbapi_conn: object, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_reading_pragmas(dbapi_conn: object, record: ConnectionPoolEntry) -> None:
    _sqlite_pragmas(dbapi_conn, record)
    cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA query_only=ON")
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


def insert_skipping_conflicts(dialect: str, table: Any) -> Insert:
    """An INSERT into `table` (a model or a table) that skips a row conflicting with a unique key (ON CONFLICT DO
    NOTHING): what PostgreSQL in production and SQLite on a laptop both have, each with its dialect's statement
    (`dialect`: the engine's dialect's name)."""
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing()  # type: ignore[no-any-return]


def one_of(
    dialect: Dialect, column: Mapped[Any] | ColumnElement[Any], values: Sequence[Any], item_type: Any = String
) -> ColumnElement[bool]:
    """`column` is one of `values`. On PostgreSQL one array parameter: an IN list of N parameters is a new
    statement for every N, prepared and planned again each time (tens of milliseconds for a few hundred)."""
    if dialect.name == "postgresql":
        return column == any_(cast(list(values), ARRAY(item_type)))
    return column.in_(values)


def one_of_parameter(
    dialect: str, column: Mapped[Any] | ColumnElement[Any], name: str, item_type: Any = String
) -> ColumnElement[bool]:
    """`column` is one of the values given later as the parameter `name`: `one_of` for a statement built once (a
    statement built per call is keyed for SQLAlchemy's cache, and compiled on a miss, every time)."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(item_type)))
    return column.in_(bindparam(name, expanding=True))


def rows_of_function(model: type[Any], call: str) -> TextualSelect:
    """A text statement reading every column of `model`'s table from the rows a set-returning SQL function returns
    (`call`, e.g. "f(:a, :b)"), for `select(model).from_statement(...)`.

    Its columns are named in the model's order and declared, so SQLAlchemy reads a result by position and keeps how
    with the compiled statement. A `SELECT *` text has its result matched to the model by name on every execution
    (with the inbox's claim, that was about a twentieth of a one-event consumer transaction's CPU in a profile)."""
    columns = list(model.__table__.columns)
    names = ", ".join(f'"{column.name}"' for column in columns)
    return text(f"SELECT {names} FROM {call}").columns(*columns)  # noqa: S608 - the table's own names, a call in code


def reading_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions of a `reading_engine`: what read routes take (`shared.http.Reading`)."""
    return async_sessionmaker(engine, info={READING: True})


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (responses are built from them)."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def read_rows(
    session: AsyncSession, statement: Executable, parameters: Mapping[str, Any] | None = None
) -> Sequence[Row[Any]]:
    """The rows of a Core statement (of table columns, built once with bind parameters), read on the session's
    connection, or for a reading session that holds none on a connection of its own. No ORM objects: the session's
    statement path (its compile state, identity map, one object built and tracked per row) cost a short read about as
    much as all else it did. What a read route answers from."""
    bind = session.get_bind()
    if session.info.get(READING) and not session.in_transaction() and isinstance(bind, Engine):
        # A reading session runs each statement on its own (autocommit), so a statement on a connection of its own
        # reads the same. Checking it out, running it and returning it in one greenlet instead of the session's three
        # (its connection, the execution, its close) took a tenth off a household's read, a quarter off a list page.
        # `greenlet_spawn` is what SQLAlchemy's own asyncio layer runs every such call through.
        return await greenlet_spawn(_rows_on_own_connection, bind, statement, parameters)
    connection = await session.connection()
    return (await connection.execute(statement, parameters)).all()


def _rows_on_own_connection(
    engine: Engine, statement: Executable, parameters: Mapping[str, Any] | None
) -> Sequence[Row[Any]]:
    with engine.connect() as connection:
        return connection.execute(statement, parameters).all()


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

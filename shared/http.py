"""Request-scoped database access for routes: one transaction per use case, committed before the response; or, for
a route that only reads, a read-only session without a transaction of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession


async def _transaction(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session, session.begin():
        yield session


# Where FastAPI keeps, in the request's scope, the exit stack of the route's function-scoped dependencies, closed
# once the route has returned or raised and before the response is sent. A FastAPI internal (of the version pinned in
# requirements/), held to by tests/integration/test_reading_postgres.py: renamed, every read would fail; closed later,
# the connection would be seen still out when the response starts.
_FUNCTION_EXIT_STACK = "fastapi_function_astack"


async def _reading(request: Request) -> AsyncSession:
    # No BEGIN and no COMMIT (two round trips of a five-statement read): each statement runs on its own, on a
    # connection the database keeps read-only, so a write through it is refused however it is written.
    session: AsyncSession = request.app.state.reading()
    # A callback on that stack, where a `yield` dependency would also cost a context manager, a cancel scope and a
    # checkpoint: about a twentieth of a household's read.
    stack: AsyncExitStack = request.scope[_FUNCTION_EXIT_STACK]
    stack.push_async_callback(_close_if_begun, session)
    return session


async def _close_if_begun(session: AsyncSession) -> None:
    # Rows read by `shared.db.read_rows` came on connections of their own: a session that never began holds
    # nothing, and closing it would cost a task and a greenlet for nothing. The close is not shielded from
    # cancellation, as a `yield` dependency's exit is: on PostgreSQL it never waits (the connection is in autocommit,
    # so giving it back sends nothing), so there is nothing to interrupt.
    if session.in_transaction():
        await session.close()


# scope="function": the commit happens before the response is sent, so a failed commit is never a 2xx.
Transaction = Annotated[AsyncSession, Depends(_transaction, scope="function")]
# What GET routes take: the connection goes back to the pool before the response is sent. scope="function" as for the
# stack it is closed on: FastAPI then refuses a request-scoped dependency that would use the session after its close.
Reading = Annotated[AsyncSession, Depends(_reading, scope="function")]

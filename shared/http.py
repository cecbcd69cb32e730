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


# Where FastAPI keeps, in the request's scope, the exit stack of the route's function-scoped dependencies: it is
# closed once the route returns, before the response is sent.
FUNCTION_EXIT_STACK = "fastapi_function_astack"


async def _reading(request: Request) -> AsyncSession:
    # No BEGIN and no COMMIT (two round trips of a five-statement read): each statement runs on its own, on a
    # connection the database keeps read-only, so a write through it is refused however it is written.
    session: AsyncSession = request.app.state.reading()
    # Closed on the stack FastAPI closes a `yield` dependency's exit on, as a plain callback: a `yield` dependency
    # also costs a context manager, a cancel scope and a checkpoint, about a twentieth of a household's read.
    stack: AsyncExitStack = request.scope[FUNCTION_EXIT_STACK]
    stack.push_async_callback(_close_if_begun, session)
    return session


async def _close_if_begun(session: AsyncSession) -> None:
    # Rows read by `shared.db.read_rows` came on connections of their own: a session that never began holds
    # nothing, and closing it would cost a task and a greenlet for nothing.
    if session.in_transaction():
        await session.close()


# scope="function": the commit happens before the response is sent, so a failed commit is never a 2xx.
Transaction = Annotated[AsyncSession, Depends(_transaction, scope="function")]
# What GET routes take: the connection goes back to the pool before the response is sent.
Reading = Annotated[AsyncSession, Depends(_reading)]

"""Request-scoped database access for routes: one transaction per use case, committed before the response."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession


async def _transaction(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session, session.begin():
        yield session


# scope="function": the commit happens before the response is sent, so a failed commit is never a 2xx.
Transaction = Annotated[AsyncSession, Depends(_transaction, scope="function")]

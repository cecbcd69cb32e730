"""Which failures are the infrastructure's, not the request's or the event's: retrying later can succeed.

One classification for both sides: the consumer retries such an event without limit instead of
dead-lettering it, and the HTTP API answers 503 with `Retry-After` instead of 500.
"""

from __future__ import annotations

import sqlalchemy.exc
from aiokafka.errors import KafkaError

RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock: the next try can win
# A database that refuses connections (asyncpg raises the OSError itself), drops them or is locked, a full
# connection pool, a broker out of reach.
INFRASTRUCTURE: tuple[type[Exception], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    OSError,
    KafkaError,
)


def is_transient(exc: BaseException) -> bool:
    """Failures of the infrastructure or of concurrency, not of the event or request."""
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and (
        exc.connection_invalidated or _sqlstate(exc) in RETRYABLE_SQLSTATES
    ):
        return True
    return isinstance(exc, INFRASTRUCTURE)


def _sqlstate(exc: sqlalchemy.exc.DBAPIError) -> str | None:
    for candidate in (exc.orig, getattr(exc.orig, "__cause__", None)):
        state = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(state, str):
            return state
    return None

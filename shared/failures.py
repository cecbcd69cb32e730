"""Which failures are the infrastructure's, not the request's or the event's: retrying later can succeed.

One classification for both sides: the consumer retries such an event without limit instead of
dead-lettering it, and the HTTP API answers 503 with `Retry-After` instead of 500.
"""

from __future__ import annotations

import asyncpg
import sqlalchemy.exc
from aiokafka.errors import KafkaError

RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock: the next try can win
# SQLSTATE classes of a server that cannot serve now: connection exception (08), invalid authorization (28, a
# password rotated under us), insufficient resources (53: too many connections), operator intervention (57:
# shutting down, starting up, a statement cancelled).
UNAVAILABLE_SQLSTATE_CLASSES = frozenset({"08", "28", "53", "57"})
# A database that refuses connections (asyncpg raises the OSError itself), drops them or is locked, a full
# connection pool, a broker out of reach.
INFRASTRUCTURE: tuple[type[Exception], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    OSError,
    KafkaError,
)


# Database errors that reach us unwrapped: asyncpg's own, raised while connecting (transient or not by SQLSTATE).
DRIVER_ERRORS: tuple[type[Exception], ...] = (asyncpg.PostgresError,)


def is_transient(exc: BaseException) -> bool:
    """Failures of the infrastructure or of concurrency, not of the event or request."""
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated:
        return True
    state = sqlstate(exc)
    if state is not None and (state in RETRYABLE_SQLSTATES or state[:2] in UNAVAILABLE_SQLSTATE_CLASSES):
        return True
    return isinstance(exc, INFRASTRUCTURE)


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error: wrapped by SQLAlchemy, or raised by asyncpg itself (SQLAlchemy does not
    wrap the errors of `asyncpg.connect`: a server shutting down, too many connections, a wrong password)."""
    orig = exc.orig if isinstance(exc, sqlalchemy.exc.DBAPIError) else exc
    for candidate in (orig, getattr(orig, "__cause__", None)):
        state = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(state, str):
            return state
    return None

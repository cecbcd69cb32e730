"""What the consumer may tell about a failure, in its log lines and a dead letter's headers.

A failure is named by its type and where it was raised, and a database error by its SQLSTATE and constraint, never by
its text: a database's message quotes the failing row's values (personal data), and other libraries' messages may
quote their input.
"""

from __future__ import annotations

import traceback
from pathlib import Path

from aiokafka import ConsumerRecord
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from shared.errors import DomainError
from shared.messaging.cloudevents import MalformedEvent

# The driver attributes that name a database error without quoting data: SQLSTATE, constraint, SQLite's error name.
_DATABASE_ATTRIBUTES = (("sqlstate", "sqlstate"), ("constraint_name", "constraint"), ("sqlite_errorname", "sqlite"))


def error_headers(
    consumer: str, record: ConsumerRecord[bytes, bytes], exc: BaseException, attempts: int
) -> list[tuple[str, bytes]]:
    """The `dlq_*` headers a dead letter carries: who gave up on it, why, after how many attempts, and where from."""
    return [
        ("dlq_consumer", consumer.encode()),
        *((f"dlq_error_{name}", value[:500].encode()) for name, value in error_facts(exc).items()),
        ("dlq_attempts", str(attempts).encode()),
        ("dlq_source_topic", record.topic.encode()),
        ("dlq_source_partition", str(record.partition).encode()),
        ("dlq_source_offset", str(record.offset).encode()),
    ]


def log_facts(exc: BaseException) -> dict[str, str]:
    """The failure's facts as a log line's `error_*` fields."""
    return {f"error_{name}": value for name, value in error_facts(exc).items()}


def error_facts(exc: BaseException) -> dict[str, str]:
    """What may be told about a failure: its type and where it was raised, and a message only when we wrote it
    and know it free of personal data. A database's message quotes the failing row (asyncpg's `DETAIL: Failing
    row contains (...)`, key values), and other libraries' messages may quote their input, so they are left out."""
    facts = {"type": type(exc).__name__, "where": _where(exc)}
    if isinstance(exc, ValidationError):  # field and message only: pydantic's own text echoes the input
        facts["message"] = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    elif isinstance(exc, MalformedEvent | DomainError):  # DomainError's detail is kept free of personal data
        facts["message"] = str(exc)
    elif isinstance(exc, DBAPIError):
        facts.update(_database_facts(exc))
    return facts


def _database_facts(exc: DBAPIError) -> dict[str, str]:
    facts: dict[str, str] = {}
    # SQLAlchemy's asyncpg adapter wraps the driver's error, which then is the adapter error's cause.
    for error in (exc.orig, getattr(exc.orig, "__cause__", None)):
        for attribute, name in _DATABASE_ATTRIBUTES:
            value = getattr(error, attribute, None)
            if isinstance(value, str):
                facts.setdefault(name, value)
    return facts


def _where(exc: BaseException) -> str:
    """The innermost frames as file:line, without the locals or message that could carry data."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    return " > ".join(f"{Path(frame.filename).name}:{frame.lineno}" for frame in frames)

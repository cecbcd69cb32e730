"""Rows a transaction queues to write as it commits (outbox events, audit-log entries, audit's notifications).

Queued rows follow the transaction's fate: those queued inside a savepoint that rolls back are dropped with it,
those of a released savepoint wait for the real commit, and a rollback of the transaction drops them all, as does a
session closed without committing (its next transaction starts with nothing queued).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

T = TypeVar("T")


class CommitQueue(Generic[T]):
    """One kind of queued row, kept in the session's `info` under `name`."""

    def __init__(self, name: str) -> None:
        self._items, self._savepoints = f"{name}_queued", f"{name}_savepoints"
        event.listen(Session, "after_transaction_create", self._mark_savepoint)
        event.listen(Session, "after_soft_rollback", self._forget_rolled_back)
        event.listen(Session, "after_transaction_end", self._forget_at_the_end)

    def add(self, session: AsyncSession | Session, item: T) -> None:
        session.info.setdefault(self._items, []).append(item)

    def take(self, session: Session) -> list[T]:
        """Everything queued, emptying the queue (the caller writes it)."""
        items: list[T] = session.info.pop(self._items, None) or []
        return items

    def _mark_savepoint(self, session: Session, transaction: SessionTransaction) -> None:
        if transaction.nested:
            session.info.setdefault(self._savepoints, {})[transaction] = len(session.info.get(self._items, []))

    def _forget_rolled_back(self, session: Session, previous: SessionTransaction) -> None:
        queued: list[Any] = session.info.get(self._items, [])
        if previous.nested:
            del queued[session.info.get(self._savepoints, {}).get(previous, len(queued)) :]
        else:
            queued.clear()

    def _forget_at_the_end(self, session: Session, transaction: SessionTransaction) -> None:
        # Not at each savepoint's end: SQLAlchemy ends a savepoint before it reports the savepoint's rollback. At the
        # transaction's end a commit has taken what it wrote (`after_commit` runs before this); anything left was
        # never committed.
        if transaction.parent is None:
            session.info.pop(self._savepoints, None)
            session.info.pop(self._items, None)
